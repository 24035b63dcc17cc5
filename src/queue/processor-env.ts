// What the worker tells its sandboxed children through their environment (they get no command line).

/** The torch device of the crafting; empty: the CPU. */
export const DEVICE_ENV = "ADVPOISON_WORKER_DEVICE";
