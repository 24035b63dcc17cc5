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
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
