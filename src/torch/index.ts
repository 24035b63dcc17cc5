// advpoison's tensor layer: libtorch through a thin N-API addon, with a typed, scope-aware facade.
export { type AutocastDtype, autocast, autocastDtype, isAutocastEnabled } from "./autocast.js";
export { enableGrad, type GradOptions, grad, isGradEnabled, noGrad } from "./autograd.js";
export * from "./creation.js";
export { type DType, ITEM_SIZE, isFloating, type TypedArray } from "./dtype.js";
export * as F from "./functional.js";
export {
  bf16Supported,
  cpuinfoHasBf16,
  inPrecision,
  PRECISION_CHOICES,
  type Precision,
  type PrecisionChoice,
  resolvePrecision,
  secondOrderError,
} from "./precision.js";
export * from "./runtime.js";
export {
  dataSha256,
  decodeSafetensors,
  type EncodeOptions,
  encodeSafetensors,
  loadSafetensors,
  type Safetensors,
  saveSafetensors,
  type TensorDict,
} from "./safetensors.js";
export { keep, scope, scopeDepth } from "./scope.js";
export { type MemoryFormat, Tensor, type ToOptions } from "./tensor.js";
