export { firstNonFinite } from "./finite.js";
export {
  type ConvBnPair,
  convBnPairsOf,
  type DeclaresConvBnPairs,
  foldBatchNorms,
  sequentialConvBnPairs,
} from "./fuse.js";
export * from "./init.js";
export * from "./layers.js";
export { Module, type ModuleToOptions, type StateDict } from "./module.js";
