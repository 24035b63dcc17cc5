// One error type for every data problem, so the CLI can print it without a stack trace and tests can
// tell a bad file from a bug.

export class DatasetError extends Error {
  /** The file or directory at fault, when there is one. */
  readonly path: string | undefined;

  constructor(message: string, path?: string) {
    super(path === undefined ? message : `${path}: ${message}`);
    this.name = "DatasetError";
    this.path = path;
  }
}
