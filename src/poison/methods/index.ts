// The methods table: every poison method advpoison crafts, by name. Each entry's file states its facts
// (method.ts says which); the pipeline, the CLI and the experiments read them from here.
import { errorMin } from "./error-min.js";
import { lsp } from "./lsp.js";
import type { PoisonMethod } from "./method.js";
import { ops } from "./ops.js";
import { random } from "./random.js";
import { targeted } from "./targeted.js";
import { tensorclogMethod } from "./tensorclog.js";
import { untargeted } from "./untargeted.js";

export const METHODS: Readonly<Record<string, PoisonMethod>> = Object.fromEntries(
  [random, errorMin, tensorclogMethod, lsp, ops, untargeted, targeted].map((m) => [m.name, m]),
);

/** The adversarial poisons of Fowl et al., with their objectives. */
export const ADVERSARIAL_METHODS = { targeted, untargeted } as const;

/** Every method's name, in the table's order: the baselines, then the adversarial poisons of Fowl et al. */
export const METHOD_NAMES: readonly string[] = Object.keys(METHODS);

/** The method called `name`, or a clear error listing the known ones. */
export function methodOf(name: string): PoisonMethod {
  const m = Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
  if (!m) throw new Error(`unknown method '${name}' (${METHOD_NAMES.join(", ")})`);
  return m;
}

export type { AdversarialMethod } from "./adversarial.js";
export {
  craftErrorMin,
  ERROR_MIN_SETTINGS,
  type ErrorMinMode,
  type ErrorMinRound,
  type ErrorMinSettings,
  type ErrorMinStats,
} from "./error-min.js";
export { LSP_SETTINGS, type LspClusters, type LspSettings, lspClusters, lspGrid } from "./lsp.js";
export {
  budgetOf,
  type ChunkedMethod,
  type ChunkInput,
  type ChunkOutput,
  type MethodFlag,
  methodSettings,
  type PgdDefaults,
  type PoisonMethod,
  type RunInput,
  type WholeSetMethod,
} from "./method.js";
export { type ClassPixel, type ClassSums, channelBit, classSums, searchPixels, shortcutScore } from "./ops.js";
export {
  TENSORCLOG_BATCH_SIZE,
  TENSORCLOG_SETTINGS,
  type TensorClogOptions,
  type TensorClogResult,
  tensorclog,
} from "./tensorclog.js";
