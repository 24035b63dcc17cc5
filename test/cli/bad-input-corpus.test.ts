// Every row of the bad-input corpus (bad-inputs.ts) through the real CLI, one process at a time: no signal
// or abort, exactly one error line on stderr naming the problem, a non-zero exit code, and every file that
// existed before (the row's inputs and any earlier output) byte-identical afterwards, nothing added; and the
// process's peak memory bounded (a decompression bomb must not be inflated to fail later).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { PEAK_RSS_HOOK, peakRssBytes } from "../peak-rss.js";
import { BAD_INPUTS } from "./bad-inputs.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "advpoison-corpus-"));
/** Far above the CLI's own peak with libtorch loaded (~250 MiB), far below a 1.5 GB bomb's. */
const MAX_PEAK_RSS_MIB = 1024;
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * relative path -> sha256 of every file under `dir` ("/" for each directory, so added ones count too; "-> target"
 * for a symbolic link, which is not followed).
 */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name);
    out[relative(dir, path)] = e.isDirectory()
      ? "/"
      : e.isSymbolicLink()
        ? `-> ${readlinkSync(path)}`
        : createHash("sha256").update(readFileSync(path)).digest("hex");
  }
  return out;
}

describe("bad-input corpus through the CLI", () => {
  const names = new Set<string>();
  for (const [i, row] of BAD_INPUTS.entries()) {
    assert.ok(!names.has(row.name), `duplicate row name: ${row.name}`);
    names.add(row.name);
    test(row.name, () => {
      const dir = join(root, String(i));
      mkdirSync(dir);
      row.setup(dir);
      const before = snapshot(dir);
      const peakFile = join(root, `${i}.peak-rss`);
      const run = spawnSync(process.execPath, ["--import", PEAK_RSS_HOOK, CLI, ...row.args(dir)], {
        encoding: "utf8",
        env: {
          ...process.env,
          ADVPOISON_THREADS: "1",
          OMP_NUM_THREADS: "1",
          ADVPOISON_DEBUG: "",
          PEAK_RSS_FILE: peakFile,
        },
        timeout: 60_000,
      });
      assert.equal(run.signal, null, `killed by ${run.signal}; stderr: ${run.stderr}`);
      assert.equal(typeof run.status, "number");
      assert.notEqual(run.status, 0, `exit code 0; stdout: ${run.stdout}`);
      const lines = run.stderr.split("\n").filter((l) => l.trim().length > 0);
      assert.equal(lines.length, 1, `expected one line on stderr, got:\n${run.stderr}`);
      assert.match(lines[0]!, /^advpoison: error: /);
      assert.match(lines[0]!, row.error);
      assert.deepEqual(snapshot(dir), before, "files in the guarded directory changed");
      const peakMiB = peakRssBytes(peakFile) / 2 ** 20;
      assert.ok(peakMiB < MAX_PEAK_RSS_MIB, `peak RSS ${peakMiB.toFixed(0)} MiB`);
    });
  }
});
