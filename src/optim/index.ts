export * from "./schedule.js";
export { SGD, type SGDOptions } from "./sgd.js";
