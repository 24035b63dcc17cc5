// How long-running work reports progress; the CLI renders it as bars (or plain lines without a TTY).

export type ProgressFields = Record<string, string | number>;

export interface ProgressTask {
  /** Sets the completed amount (not an increment) and the fields shown beside the bar. */
  update(done: number, fields?: ProgressFields): void;
  /** Ends the task; `summary` is shown once as its last line. */
  finish(summary?: string): void;
}

export interface Progress {
  /** Starts a task of `total` units (batches, images), e.g. "epoch 3/40". */
  start(label: string, total: number, unit: string): ProgressTask;
  /** A line of information between tasks. */
  log(message: string): void;
}

/** Reports nothing: for library use and tests. */
export const silentProgress: Progress = {
  start: () => ({ update: () => {}, finish: () => {} }),
  log: () => {},
};
