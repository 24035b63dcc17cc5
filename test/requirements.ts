// What a test needs from the machine (a dataset, python3-torch, chromium): where it is missing the test is
// skipped on a developer's machine, but under CI (CI=true), where scripts/setup.sh installed everything, a
// missing requirement fails the run instead of passing as "skipped".
import { spawnSync } from "node:child_process";

/** `false` when `present`, else the reason to skip: a value for node:test's `skip` option. Throws in CI. */
export function needs(present: boolean, what: string): false | string {
  if (present) return false;
  if (process.env.CI === "true" || process.env.CI === "1")
    throw new Error(`${what} is missing: CI must have it (scripts/setup.sh installs it)`);
  return `${what} is missing (scripts/setup.sh installs it)`;
}

/**
 * `false` when the CPU or device has `what` (native bf16, say), else the reason to skip. Unlike `needs`, CI cannot
 * install it, so a missing one skips there too, but says so on stderr: the run's log shows what was not tested.
 */
export function hardwareHas(present: boolean, what: string): false | string {
  if (present) return false;
  const reason = `this machine has no ${what}`;
  if (process.env.CI === "true" || process.env.CI === "1") console.error(`advpoison tests (CI): skipped, ${reason}`);
  return reason;
}

/** Debian's python3-torch, python3-torchvision, python3-pil live in the system python, not a pyenv one on PATH. */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** undefined when SYSTEM_PYTHON imports every module named, else why not (for `needs`' message). */
export function pythonLacks(...modules: string[]): string | undefined {
  const r = spawnSync(SYSTEM_PYTHON, ["-c", `import ${modules.join(", ")}`], { encoding: "utf8" });
  if (r.error) return `${SYSTEM_PYTHON} is not runnable (${r.error.message})`;
  if (r.status !== 0) return `${SYSTEM_PYTHON} lacks ${modules.join("/")}: ${r.stderr.trim().split("\n").at(-1)}`;
  return undefined;
}
