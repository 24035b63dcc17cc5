// What a test needs from the machine (a dataset, python3-torch, chromium): where it is missing the test is
// skipped on a developer's machine, but under CI (CI=true), where scripts/setup.sh installed everything, a
// missing requirement fails the run instead of passing as "skipped".

/** `false` when `present`, else the reason to skip: a value for node:test's `skip` option. Throws in CI. */
export function needs(present: boolean, what: string): false | string {
  if (present) return false;
  if (process.env.CI === "true" || process.env.CI === "1")
    throw new Error(`${what} is missing: CI must have it (scripts/setup.sh installs it)`);
  return `${what} is missing (scripts/setup.sh installs it)`;
}
