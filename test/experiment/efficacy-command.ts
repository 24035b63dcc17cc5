// What a row of results/fashion-mnist.json must say, given the command it records: the environment assignments
// of that command over the defaults of scripts/experiments/fashion-mnist-efficacy.sh, read from the script itself
// (every `${NAME:-default}` in it), so that a changed default or a row edited by hand shows as a disagreement.

/** The efficacy script's facts: the variables its rows' commands may set, and each one's default. */
export interface EfficacyScript {
  /** The variables record() copies into a row's command (the script's `env | grep -E '^(...)='`). */
  recorded: ReadonlySet<string>;
  /** NAME -> its literal default (`${NAME:-default}`); absent where the default is computed (`$(nproc)`). */
  defaults: ReadonlyMap<string, string>;
}

export function readEfficacyScript(text: string): EfficacyScript {
  const list = /env \| grep -E '\^\(([A-Z_|]+)\)='/.exec(text);
  if (!list) throw new Error("efficacy script: no list of recorded variables (env | grep -E '^(...)=')");
  const defaults = new Map<string, string>();
  for (const [, name, value] of text.matchAll(/\$\{([A-Z_]+):-([^}]*)\}/g)) {
    if (value!.startsWith("$")) continue;
    const seen = defaults.get(name!);
    if (seen !== undefined && seen !== value)
      throw new Error(`efficacy script: ${name} defaults to both '${seen}' and '${value}'`);
    defaults.set(name!, value!);
  }
  return { recorded: new Set(list[1]!.split("|")), defaults };
}

/** A recorded command: its environment assignments and the method argument. */
export interface EfficacyCommand {
  env: Record<string, string>;
  method: string;
}

const SCRIPT = "scripts/experiments/fashion-mnist-efficacy.sh";
const ASSIGNMENT = /([A-Z_]+)=("[^"]*"|[^\s"]*)\s+/y;

export function parseEfficacyCommand(command: string): EfficacyCommand {
  const env: Record<string, string> = {};
  ASSIGNMENT.lastIndex = 0;
  let at = 0;
  for (let m = ASSIGNMENT.exec(command); m; m = ASSIGNMENT.exec(command)) {
    env[m[1]!] = m[2]!.replace(/^"(.*)"$/, "$1");
    at = ASSIGNMENT.lastIndex;
  }
  const rest = /^scripts\/experiments\/fashion-mnist-efficacy\.sh ([a-z-]+)$/.exec(command.slice(at));
  if (!rest) throw new Error(`not 'NAME=VALUE ... ${SCRIPT} METHOD': ${command}`);
  return { env, method: rest[1]! };
}

/** The fields of an efficacy row that its command decides. */
export interface EfficacyRowFacts {
  recipe: string;
  method: string;
  eps: number;
  steps: number;
  victim: string;
  trainer?: string | undefined;
  victim_epochs: number;
  victim_seed: number | null;
  threads: number | null;
  variant?: string | undefined;
  precision: string;
  victim_precision: string;
  subset?: number | undefined;
  release_images?: number | undefined;
  release?: string | undefined;
  settings: Record<string, unknown>;
  rounds?: number | undefined;
  command: string;
}

/** The methods with their own branch in the script; any other method is a PGD attack with a crafting model. */
const OWN_BRANCH = new Set(["clean", "error-min", "tensorclog", "random", "lsp", "ops"]);

/** Every way `row` disagrees with the command it records; empty when it agrees. */
export function commandMismatches(row: EfficacyRowFacts, script: EfficacyScript): string[] {
  let cmd: EfficacyCommand;
  try {
    cmd = parseEfficacyCommand(row.command);
  } catch (e) {
    return [(e as Error).message];
  }
  const out: string[] = [];
  for (const name of Object.keys(cmd.env))
    if (!script.recorded.has(name)) out.push(`the command sets ${name}, which the script does not record`);
  const value = (name: string): string => {
    const v = cmd.env[name] ?? script.defaults.get(name);
    if (v === undefined) throw new Error(`efficacy script: ${name} has no default`);
    return v;
  };
  const optionalNumber = (v: string) => (v === "" ? undefined : Number(v));
  const expect = (field: string, got: unknown, want: unknown) => {
    if (JSON.stringify(got) !== JSON.stringify(want))
      out.push(`${field} is ${JSON.stringify(got)}, the command says ${JSON.stringify(want)}`);
  };
  const method = cmd.method;
  const pytorch = value("VICTIM_TRAINER") === "pytorch";
  expect("method", row.method, method);
  expect("recipe", row.recipe, method);
  if (method === "clean") expect("eps", row.eps, 0);
  else if (method === "ops") expect("eps", row.eps, 255);
  else if (!value("EPS_LIST").split(/\s+/).includes(String(row.eps)))
    out.push(`eps ${row.eps} is not in the command's EPS_LIST '${value("EPS_LIST")}'`);
  const steps = { "error-min": "EM_STEPS", tensorclog: "TC_STEPS" }[method] ?? (OWN_BRANCH.has(method) ? "" : "STEPS");
  expect("steps", row.steps, steps ? Number(value(steps)) : 0);
  expect("precision", row.precision, value("PRECISION"));
  expect("victim_precision", row.victim_precision, pytorch ? "fp32" : value("VICTIM_PRECISION"));
  expect("trainer", row.trainer, pytorch ? "pytorch" : undefined);
  if (!pytorch) expect("victim", row.victim, value("VICTIM_MODEL"));
  expect("victim_epochs", row.victim_epochs, Number(value("VICTIM_EPOCHS")));
  if (row.victim_seed !== null) expect("victim_seed", row.victim_seed, Number(value("VICTIM_SEED")));
  if (row.threads !== null && cmd.env.ADVPOISON_THREADS !== undefined)
    expect("threads", row.threads, Number(cmd.env.ADVPOISON_THREADS));
  const subset = optionalNumber(value("SUBSET"));
  const victimSubset = optionalNumber(value("VICTIM_SUBSET"));
  expect("subset", row.subset, victimSubset ?? subset);
  expect("release_images", row.release_images, victimSubset && method !== "clean" ? (subset ?? 60000) : undefined);
  expect("release", row.release, value("RELEASE_FROM") || undefined);
  expect("variant", row.variant, value("VARIANT") || undefined);
  const s = row.settings;
  const crafterEpochs = Number(value("CRAFTER_EPOCHS"));
  if (method === "clean") expect("settings", s, {});
  else if (method === "random") expect("settings.noise", s.noise, "uniform");
  else if (method === "lsp") expect("settings.norm", s.norm, value("LSP_NORM"));
  else if (method === "error-min") {
    expect("settings.max_rounds", s.max_rounds, Number(value("EM_ROUNDS")));
    if (row.rounds !== undefined && row.rounds > Number(value("EM_ROUNDS")))
      out.push(`rounds ${row.rounds} exceed the command's EM_ROUNDS ${value("EM_ROUNDS")}`);
  } else if (method === "tensorclog") {
    expect("settings.tau", s.tau, Number(value("TC_TAU")));
    expect("settings.crafter_epochs", s.crafter_epochs, crafterEpochs);
  } else if (!OWN_BRANCH.has(method)) {
    expect("settings.tau", s.tau, Number(value("TAU")));
    expect("settings.restarts", s.restarts, Number(value("RESTARTS")));
    expect("settings.augment", s.augment, value("AUGMENT_KIND"));
    expect("settings.crafter_epochs", s.crafter_epochs, crafterEpochs);
    const crafters = value("CRAFTER_MODELS").split(/\s+/);
    // One SmallCNN-BN, the default, is not written into the row.
    expect("settings.crafters", s.crafters, crafters.join(" ") === "smallcnn-bn" ? undefined : crafters);
  }
  return out;
}
