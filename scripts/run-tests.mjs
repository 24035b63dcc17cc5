// Runs the compiled test files with node's test runner, one file at a time: libtorch's OpenMP threads
// in two processes at once slow both down ~10x on a 2-core machine.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return find(p);
    return p.endsWith(".test.js") ? [p] : [];
  });
}

const filter = process.argv.slice(2);
const files = find("dist/test")
  .filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files found${filter.length ? ` matching ${filter.join(", ")}` : ""}`);
  process.exit(1);
}
// A hang must end the run, not stall CI. On Node 20 (20.20, measured) --test-timeout bounds each test *file* as
// a whole (the runner's per-file test), not each test, so the limit must exceed the slowest file on a slow
// machine (the slowest take minutes on 2 cores here); tests state their own, tighter timeouts as well.
const TEST_TIMEOUT_MS = 60 * 60_000;
const r = spawnSync(
  process.execPath,
  ["--test", "--test-concurrency=1", `--test-timeout=${TEST_TIMEOUT_MS}`, ...files],
  { stdio: "inherit" },
);
process.exit(r.status ?? 1);
