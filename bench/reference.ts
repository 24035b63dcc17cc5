// A PyTorch reference process that times steps on request, so ours and PyTorch's alternate closely in time:
// this machine's speed drifts by tens of percent over seconds, which separate runs would mistake for ratios.
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

/**
 * Debian's python3-torch lives in the system python, not in a pyenv or venv one that may shadow it; BENCH_PYTHON
 * names another (e.g. the python of a pip-installed CUDA PyTorch).
 */
export const PYTHON = process.env.BENCH_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

export class Reference {
  readonly #proc: ChildProcessByStdio<Writable, Readable, null>;
  readonly #lines: AsyncIterator<string>;

  constructor(script: string, args: string[]) {
    this.#proc = spawn(PYTHON, [script, ...args], { stdio: ["pipe", "pipe", "inherit"] });
    this.#lines = createInterface({ input: this.#proc.stdout })[Symbol.asyncIterator]();
  }

  /** Sends one request line and returns the parsed JSON answer. */
  async ask(request: string): Promise<Record<string, unknown>> {
    this.#proc.stdin.write(`${request}\n`);
    const next = await this.#lines.next();
    if (next.done)
      throw new Error(`PyTorch reference exited (code ${this.#proc.exitCode}); is python3-torch installed?`);
    return JSON.parse(next.value) as Record<string, unknown>;
  }

  close(): void {
    this.#proc.stdin.end();
  }
}
