// The merge of config file, preset and command-line overrides into one validated configuration.
//
// Resolution, later wins: built-in defaults <- the config file (experiments/NAME.json, or --config FILE) <-
// with --full, the file's "full" block (or the built-in full preset) <- command-line flags <- --set PATH=JSON.
// Objects merge key by key, arrays and values replace. The result is validated strictly (unknown keys fail).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { z } from "zod";
import { DEFAULT_CONFIGS } from "./defaults.js";
import { CONFIG_SCHEMAS, type ConfigOf, EXPERIMENT_NAMES, type ExperimentName } from "./schema.js";

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Objects merge key by key; anything else in `over` replaces. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/** Sets `value` at a dotted path ("victim.epochs"), creating objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  if (keys.some((k) => k === "" || FORBIDDEN_KEYS.includes(k))) throw new Error(`invalid config path '${path}'`);
  let o = target;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(o[k])) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]!] = value;
}

/** `PATH=VALUE` of --set: VALUE is JSON when it parses, else a string. */
export function parseSet(text: string): { path: string; value: unknown } {
  const eq = text.indexOf("=");
  if (eq < 1) throw new Error(`--set expects PATH=VALUE (e.g. victim.epochs=3), got '${text}'`);
  const raw = text.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return { path: text.slice(0, eq), value };
}

/** Where the shipped config files live: experiments/ at the package root. */
export function packageConfigPath(name: ExperimentName): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "experiments", `${name}.json`);
}

export function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf-8"));
  } catch (e) {
    throw new Error(`${path}: not a readable JSON config (${(e as Error).message})`);
  }
  if (!isObject(parsed)) throw new Error(`${path}: a config must be a JSON object`);
  const bad = forbiddenKeyPath(parsed);
  if (bad !== undefined) throw new Error(`${path}: forbidden key '${bad.at(-1)}' at ${bad.join(".")} in the config`);
  return parsed;
}

/**
 * Keys that would reach an object's prototype when merged (JSON.parse makes "__proto__" an own key, and
 * deepMerge's assignment would then replace the merged object's prototype).
 */
const FORBIDDEN_KEYS = ["__proto__", "constructor", "prototype"];

/** The path of the first forbidden key anywhere in `value`, if there is one. */
function forbiddenKeyPath(value: unknown, at: string[] = []): string[] | undefined {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = forbiddenKeyPath(v, [...at, String(i)]);
      if (found) return found;
    }
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.includes(k)) return [...at, k];
      const found = forbiddenKeyPath(v, [...at, k]);
      if (found) return found;
    }
  }
  return undefined;
}

/** A config written when the poison's `method` was called `recipe` (advpoison < 0.2), under today's key. */
function withMethodKey(config: Record<string, unknown>): Record<string, unknown> {
  const poison = config.poison;
  if (!isObject(poison) || !("recipe" in poison) || "method" in poison) return config;
  const { recipe, ...rest } = poison;
  return { ...config, poison: { ...rest, method: recipe } };
}

export interface ResolveOptions {
  /** A config file; default experiments/NAME.json in the working directory, else the package's. */
  configFile?: string;
  full?: boolean;
  /** Overrides from flags, as a partial config. */
  overrides?: Record<string, unknown>;
  /** --set PATH=VALUE, applied last. */
  sets?: readonly string[];
}

export interface ResolvedConfig<N extends ExperimentName = ExperimentName> {
  config: ConfigOf<N>;
  /** "scaled-down" (the CPU defaults), "full" (the paper's preset), with "+ overrides" when changed. */
  scale: string;
  /** The config file read, if any. */
  file: string | null;
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(config)"}: ${i.message}`).join("; ");
}

/** Validates a complete config for `name`, with every problem in one message. */
export function validateConfig<N extends ExperimentName>(name: N, raw: unknown, where = "config"): ConfigOf<N> {
  const r = CONFIG_SCHEMAS[name].safeParse(raw);
  if (!r.success) throw new Error(`${where}: invalid ${name} config: ${formatIssues(r.error)}`);
  const c = r.data as ConfigOf<N>;
  if (c.experiment !== name) throw new Error(`${where}: a config for '${c.experiment}', not '${name}'`);
  return c;
}

export function resolveConfig<N extends ExperimentName>(name: N, o: ResolveOptions = {}): ResolvedConfig<N> {
  if (!(EXPERIMENT_NAMES as readonly string[]).includes(name))
    throw new Error(`unknown experiment '${name}' (${EXPERIMENT_NAMES.join(", ")})`);
  const candidates = o.configFile ? [o.configFile] : [join("experiments", `${name}.json`), packageConfigPath(name)];
  const file = candidates.find((p) => existsSync(p)) ?? null;
  if (o.configFile && !file) throw new Error(`config file ${o.configFile} not found`);
  const fromFile = file ? withMethodKey(readConfigFile(file)) : {};
  let raw = deepMerge(DEFAULT_CONFIGS[name], fromFile) as Record<string, unknown>;
  if (o.full) {
    const preset = raw.full;
    if (!isObject(preset)) throw new Error(`the ${name} config has no "full" preset`);
    raw = deepMerge(raw, preset) as Record<string, unknown>;
  }
  const hasOverrides = Object.keys(o.overrides ?? {}).length > 0 || (o.sets?.length ?? 0) > 0;
  raw = deepMerge(raw, o.overrides ?? {}) as Record<string, unknown>;
  for (const s of o.sets ?? []) {
    const { path, value } = parseSet(s);
    setPath(raw, path, value);
  }
  const config = validateConfig(name, raw, file ?? "built-in config");
  const scale = `${o.full ? "full" : "scaled-down"}${hasOverrides ? " + overrides" : ""}`;
  return { config, scale, file };
}
