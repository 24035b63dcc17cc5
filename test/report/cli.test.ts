// `advpoison report DIR` end to end on a small run directory of the real Fashion-MNIST (64 images): a clean
// model, a random-noise release and a victim trained on it are collected into one report; a demo's or an
// experiment's report.json is rendered again as is; bad directories and files fail without damage.
// Also the --device flag shared by the commands.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadSplit, subset } from "../../src/data/index.js";
import { type ReportData, renderReport, writeReport } from "../../src/report/index.js";
import { needs } from "../requirements.js";
import { sampleReport } from "./sample.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const CLI = join(process.cwd(), "dist/src/cli/main.js");
const SMALL = ["--subset", "64", "--epochs", "1", "--batch-size", "32"];

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });
}

function ok(args: string[]): Record<string, unknown> {
  const r = cli(args);
  assert.equal(r.status, 0, `advpoison ${args.join(" ")}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf-8")) as T;

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "advpoison-report-cli-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("advpoison report on a run directory", {
  skip: needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`),
}, () => {
  const run = tempDir();
  const release = join(run, "release-random");
  let victim: Record<string, unknown>;
  let report: ReportData;

  before(() => {
    ok(["train", ...SMALL, "--device", "cpu", "--out", join(run, "clean"), "--json"]);
    ok(["craft", "--recipe", "random", "--eps", "8", "--subset", "64", "--out", release, "--json"]);
    victim = ok([
      "train",
      ...SMALL,
      "--dataset",
      `fashion-mnist:${release}`,
      "--out",
      join(run, "victim-random"),
      "--json",
    ]);
    const r = ok(["report", run, "--json"]);
    assert.equal(r.report, join(run, "report.html"));
    report = readJson<ReportData>(r.report_json as string);
  });

  test("tables list the release with its victim's accuracy, and both trained models", () => {
    const [releases, models] = report.tables;
    assert.deepEqual(
      releases!.rows.map((row) => [row[0], row[1], row[2], row[4], row[5]]),
      [["release-random", "random", "8/255", "64/64", 8]],
    );
    // train --json: final and peak (one epoch here: the same epoch), both shown beside the release.
    const [final, peak] = [victim.test_acc as number, victim.peak_test_acc as number];
    assert.ok(final >= 0 && final <= 1 && peak === final && victim.peak_epoch === 1, JSON.stringify(victim));
    assert.deepEqual(releases!.rows[0]!.slice(-2), [`${(100 * final).toFixed(2)}%`, `${(100 * peak).toFixed(2)}%`]);
    assert.match(report.headline!.at(-1)!.detail!, /^final clean test accuracy; peak [\d.]+% \(epoch 1\)$/);
    assert.deepEqual(
      models!.rows.map((row) => [row[0], row[2], row[3]]),
      [
        ["clean", "fashion-mnist", 1],
        ["victim-random", "release-random", 1],
      ],
    );
    assert.equal(report.generator, "run-dir");
    assert.deepEqual(
      report.curves[0]!.series.map((s) => s.name),
      ["clean", "victim-random"],
    );
  });

  test("the grid shows the release's images beside their sources, within eps", () => {
    assert.equal(report.imageGrids.length, 1);
    const grid = report.imageGrids[0]!;
    const source = subset(loadSplit("fashion-mnist", "train"), 64);
    const shown = grid.rows.flatMap((r) => r.examples);
    assert.ok(shown.length > 0 && shown.length <= 2 * source.numClasses);
    for (const row of grid.rows) {
      for (const e of row.examples) {
        assert.equal(source.labels[e.index], row.label);
        assert.ok(e.linf > 0 && e.linf <= 8, `linf ${e.linf}`);
      }
    }
    assert.ok(readFileSync(join(run, "report.html"), "utf-8").includes("release-random"));
  });

  test("a second run collects again (new models appear) instead of re-rendering the old JSON", () => {
    mkdirSync(join(run, "more"));
    writeFileSync(join(run, "more", "run.json"), readFileSync(join(run, "clean", "run.json")));
    ok(["report", run, "--json"]);
    const again = readJson<ReportData>(join(run, "report.json"));
    assert.equal(again.tables[1]!.rows.length, 3);
    rmSync(join(run, "more"), { recursive: true });
  });

  test("a release whose images cannot be read loses its picture, not the report", () => {
    const broken = join(run, "release-truncated");
    cpSync(release, broken, { recursive: true });
    const images = readdirSync(broken).find((f) => f.startsWith("train-images"))!;
    writeFileSync(join(broken, images), readFileSync(join(broken, images)).subarray(0, 100));
    try {
      ok(["report", run, "--json"]);
      const again = readJson<ReportData>(join(run, "report.json"));
      assert.deepEqual(
        again.imageGrids.map((g) => g.title.split(":")[0]),
        ["release-random"],
      );
      assert.ok(
        again.notes.some((n) => n.startsWith(`No images of release-truncated: ${join(broken, images)}`)),
        again.notes.join("\n"),
      );
    } finally {
      rmSync(broken, { recursive: true });
    }
  });
});

describe("advpoison report on other directories", () => {
  test("a demo's or an experiment's report.json is rendered again, unchanged", () => {
    const dir = tempDir();
    const data = { ...sampleReport(), generator: "demo" };
    writeReport(dir, data);
    writeFileSync(join(dir, "report.html"), "stale");
    const r = ok(["report", dir, "--json"]);
    assert.equal(
      readFileSync(r.report as string, "utf-8"),
      renderReport(readJson<ReportData>(join(dir, "report.json"))),
    );
  });

  test("an empty directory, a missing one and a damaged report.json fail with a reason and change nothing", () => {
    const empty = tempDir();
    let r = cli(["report", empty]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nothing to report/);
    assert.ok(!existsSync(join(empty, "report.html")));

    r = cli(["report", join(empty, "nope")]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no such directory/);

    const damaged = tempDir();
    writeFileSync(join(damaged, "report.json"), JSON.stringify({ title: "t", params: {}, tables: "x" }));
    writeFileSync(join(damaged, "report.html"), "keep me");
    r = cli(["report", damaged]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /report\.json: tables: /);
    assert.equal(readFileSync(join(damaged, "report.html"), "utf-8"), "keep me");
  });
});

describe("--device", () => {
  test("an unknown device fails before any work, naming it", () => {
    const out = join(tempDir(), "never");
    const r = cli(["train", ...SMALL, "--device", "warp-drive", "--out", out]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /device 'warp-drive' is not usable/);
    assert.ok(!existsSync(out));
  });
});
