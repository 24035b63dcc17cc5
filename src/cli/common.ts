// What every command shares: dataset options, argument parsing with clear errors, JSON output, exit codes.
import { type Command, InvalidArgumentError, Option } from "commander";
import { type Dataset, loadDataset, subset } from "../data/index.js";
import { defaultDevice, PRECISION_CHOICES, zeros } from "../torch/index.js";

/** Resolves --precision against the device: bf16 without native support is an error, auto falls back to fp32. */
export { resolvePrecision } from "../torch/index.js";

export interface DataOptions {
  dataset: string;
  dataDir?: string;
  subset?: number;
}

export function addDataOptions(cmd: Command, defaultDataset: string | undefined = "fashion-mnist"): Command {
  return cmd
    .option(
      "--dataset <spec>",
      "fashion-mnist, mnist, cifar10, cifar100 (optionally NAME:DIR), folder:DIR or npy:DIR",
      defaultDataset,
    )
    .option("--data-dir <dir>", "where the named dataset lives (default: its usual places)")
    .option("--subset <n>", "use only the first n training images (the same ones in every command)", positiveInt);
}

/** The training split (first `subset` images if asked) and the full test split. */
export function loadData(o: DataOptions): { train: Dataset; test: Dataset } {
  const { train, test } = loadDataset(o.dataset, { dataDir: o.dataDir });
  return { train: o.subset !== undefined ? subset(train, o.subset) : train, test };
}

export function addDeviceOption(cmd: Command): Command {
  return cmd.option(
    "--device <name>",
    'torch device: cpu, cuda, cuda:1, ... (default "auto": cuda when present)',
    "auto",
  );
}

/**
 * The device to run on, as the library takes it ("cpu", "cuda", "cuda:1", ...).
 * "auto" picks the GPU of a CUDA libtorch (see README: LIBTORCH). A named device is tried once here, so that a
 * typo or a CPU-only libtorch fails before any work starts, not minutes later.
 */
export function resolveDevice(name: string | undefined): string {
  if (name === undefined || name === "auto") return defaultDevice() === "cuda" ? "cuda" : "cpu";
  if (name === "cpu") return "cpu";
  try {
    zeros([1], { device: name }).dispose();
  } catch (e) {
    // libtorch's dispatcher lists every backend it has on the lines after the first: the first line says it.
    const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    throw new Error(`device '${name}' is not usable with this libtorch: ${why}`);
  }
  return name;
}

export function addPrecisionOption(cmd: Command): Command {
  return cmd.addOption(
    new Option(
      "--precision <p>",
      "fp32, bf16 (autocast; needs native bf16: AVX512-BF16/AMX CPU or CUDA compute capability >= 8) or auto (bf16 where native)",
    )
      .choices(PRECISION_CHOICES)
      .default("fp32"),
  );
}

// Safe integers only: beyond 2^53 a number is not the integer typed, and JSON schemas (zod) refuse it when a
// manifest that records it is read back.
export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${v}'`);
  return n;
}

export function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got '${v}'`);
  return n;
}

/** A parser of integers from 1 to `max`: a bound that keeps a typo (1e9) from reaching the allocator. */
export function positiveIntUpTo(max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1 || n > max)
      throw new InvalidArgumentError(`expected an integer from 1 to ${max}, got '${v}'`);
    return n;
  };
}

export function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${v}'`);
  return n;
}

export function fraction(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError(`expected a number in (0, 1], got '${v}'`);
  return n;
}

export function collect(v: string, previous: string[] = []): string[] {
  return [...previous, v];
}

/** The machine-readable result: one JSON object, always the last line of standard output. */
export function printJson(result: Record<string, unknown>): void {
  console.log(JSON.stringify(result));
}

/** What a file system call's failure means, for the paths users name (--out, --shared, ...). */
const ERRNO_MEANING: Record<string, string> = {
  ENOTDIR: "a file is in the way where a directory is needed",
  EEXIST: "something of another kind already exists there",
  EISDIR: "a directory, where a file is needed",
  EACCES: "permission denied",
  ENOSPC: "no space left on the device",
  EROFS: "a read-only file system",
};

/** An error as one line: a file system failure names the path and what it means, other messages lose line breaks. */
function errorLine(e: unknown): string {
  const errno = e as NodeJS.ErrnoException;
  const meaning = errno.code ? ERRNO_MEANING[errno.code] : undefined;
  if (meaning && errno.path)
    return `${errno.path}: ${meaning} (${errno.code} in ${errno.syscall ?? "a file operation"})`;
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, "; ");
}

/** Runs a command body; any error becomes one clear line on stderr and exit code 1. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      console.error(`advpoison: error: ${errorLine(e)}`);
      if (process.env.ADVPOISON_DEBUG && e instanceof Error) console.error(e.stack);
      process.exitCode = 1;
    }
  };
}
