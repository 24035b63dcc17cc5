// Long native loops run on the main thread: yielding between steps lets progress bars redraw and signals
// (Ctrl-C, SIGTERM) be handled.

/** Gives the event loop a turn. */
export const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
