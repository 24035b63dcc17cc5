// What the worker tells its sandboxed children through their environment (they get no command line).

/** The torch device of the crafting; empty: the CPU. */
export const DEVICE_ENV = "ADVPOISON_WORKER_DEVICE";
/** The worker's --shared root (a real path): children act only on runs under it. */
export const SHARED_ENV = "ADVPOISON_WORKER_SHARED";
/** The queue's redis:// address, for children to read a run's record in Redis. */
export const QUEUE_ENV = "ADVPOISON_WORKER_QUEUE";
