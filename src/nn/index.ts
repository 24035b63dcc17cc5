export * from "./init.js";
export * from "./layers.js";
export { Module, type StateDict } from "./module.js";
