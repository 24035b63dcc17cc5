// advpoison's public API: each layer as a namespace, in the order data flows (torch -> nn/optim -> data ->
// models -> train/poison -> experiment/report/protect/queue). Every layer is also an entry point of its own:
// `advpoison/torch`, `advpoison/nn`, `advpoison/optim`, `advpoison/data`, `advpoison/models`,
// `advpoison/train`, `advpoison/poison`, `advpoison/experiment`, `advpoison/report`, `advpoison/protect`,
// `advpoison/queue`.
export * as data from "./data/index.js";
export * as experiment from "./experiment/index.js";
export * as models from "./models/index.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export * as poison from "./poison/index.js";
export * as protect from "./protect/index.js";
export * as queue from "./queue/index.js";
export * as report from "./report/index.js";
export * as torch from "./torch/index.js";
export * as train from "./train/index.js";
export { VERSION } from "./util/version.js";
