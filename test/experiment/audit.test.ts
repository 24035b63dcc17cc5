// `advpoison audit` end to end on a micro release of the real Fashion-MNIST (256 images, random noise, victims of
// 2 epochs scored on 512 test images): the JSON line's shape and its arithmetic (worst case, clean_acc,
// protection), early stopping that never looks at the scoring half, the report, and resuming: a second run
// trains nothing, and a victim missing from results.json is the only one trained again.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import type { AuditResult } from "../../src/experiment/index.js";
import { CONTENT_SECURITY_POLICY } from "../../src/report/index.js";
import type { EpochRecord } from "../../src/train/index.js";
import { needs } from "../requirements.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const CLI = join(process.cwd(), "dist/src/cli/main.js");

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, CI: "1", ADVPOISON_THREADS: process.env.ADVPOISON_THREADS ?? "1" },
  });
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!) as AuditResult;

interface Unit {
  kind: string;
  condition: string;
  history: EpochRecord[];
  stopped_test_acc: number;
  stopped_epoch: number;
  test_acc: number;
  validation_images: number;
  test_images: number;
}

const units = (dir: string) =>
  (JSON.parse(readFileSync(join(dir, "results.json"), "utf-8")) as { units: Record<string, Unit> }).units;

describe("advpoison audit", { skip: needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`), timeout: 600_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-audit-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const release = join(tmp, "release");
  const out = join(tmp, "audit");
  const args = [
    "audit",
    ...["--release", release, "--source", "fashion-mnist", "--defenses", "none,bdr:2,grayscale"],
    ...["--epochs", "2", "--test-subset", "512", "--out", out, "--json"],
  ];
  let first: AuditResult;

  before(() => {
    const c = cli(
      ["craft", "--dataset", "fashion-mnist", "--subset", "256", "--method", "random", "--eps", "16"].concat([
        "--out",
        release,
      ]),
    );
    assert.equal(c.status, 0, c.stderr);
    const r = cli(args);
    assert.equal(r.status, 0, r.stderr);
    first = lastJson(r.stdout);
  });

  test("the JSON line: every row with its clean counterpart, the worst case, clean_acc and the protection", () => {
    const j = first;
    assert.deepEqual(
      j.rows.map((r) => [r.victim, r.defense]),
      [
        ["smallcnn-bn", "none"],
        ["smallcnn-bn", "bdr:2"],
        ["smallcnn", "none"],
      ],
    );
    assert.deepEqual(
      j.skipped.map((s) => s.defense),
      ["grayscale"],
    );
    const keys = ["defense", "victim", "seeds", "final", "final_sd", "stopped", "stopped_sd", "stopped_epoch"];
    for (const r of j.rows) {
      for (const k of [...keys, "clean_final", "clean_stopped"]) assert.ok(k in r, `row lacks ${k}`);
      for (const v of [r.final, r.stopped, r.clean_final, r.clean_stopped]) assert.ok(v >= 0 && v <= 1, `${v}`);
      assert.equal(r.seeds, 1);
      assert.ok(r.stopped_epoch === 1 || r.stopped_epoch === 2);
    }
    const best = Math.max(...j.rows.map((r) => r.stopped));
    const worst = j.rows.find((r) => r.stopped === best)!;
    assert.deepEqual(j.worst_case, { defense: worst.defense, victim: worst.victim, acc: best });
    assert.equal(j.clean_acc, j.rows[0]!.clean_stopped);
    assert.ok(Math.abs(j.protection - (j.clean_acc - j.worst_case.acc)) < 1e-12);
    assert.deepEqual([j.validation_images, j.scoring_images], [256, 256]);
    assert.deepEqual([j.victims_trained, j.victims_reused], [6, 0]);
    assert.deepEqual(JSON.parse(readFileSync(j.audit_json, "utf-8")), j);
  });

  test("survival: what of the perturbation 2-bit posterizing passes, as the release's and the source's bytes say", () => {
    const pixels = (file: string, count: number) => gunzipSync(readFileSync(file)).subarray(16, 16 + count * 784);
    const released = pixels(join(release, "train-images-idx3-ubyte.gz"), 256);
    const clean = pixels(join(FMNIST, "train-images-idx3-ubyte.gz"), 256);
    const count = (view: (v: number) => number) => {
      let changed = 0;
      let abs = 0;
      for (const [i, v] of released.entries()) {
        const d = Math.abs(view(v) - view(clean[i]!));
        changed += d > 0 ? 1 : 0;
        abs += d;
      }
      return { changed: changed / released.length, abs: abs / released.length };
    };
    const expected = { none: count((v) => v), "bdr:2": count((v) => v & 0xc0) };
    assert.deepEqual(
      first.survival.map((r) => r.defense),
      ["none", "bdr:2"],
    );
    for (const r of first.survival) {
      const e = expected[r.defense as keyof typeof expected];
      assert.equal(r.changed, e.changed, r.defense);
      assert.ok(Math.abs(r.mean_abs - e.abs) < 1e-3, `${r.defense}: ${r.mean_abs} vs ${e.abs}`);
    }
    assert.ok(expected["bdr:2"].changed < expected.none.changed / 2, "posterizing drops most of the changes");
    assert.ok(readFileSync(first.report, "utf-8").includes("What of the perturbation reaches the victim"));
  });

  test("each victim stops at its best epoch on the validation half and is scored on the other half", () => {
    const all = Object.values(units(out)).filter((u) => u.kind === "victim");
    assert.equal(all.length, 6);
    for (const u of all) {
      assert.deepEqual([u.validation_images, u.test_images], [256, 256]);
      const best = u.history.reduce((b, r) => (r.valAcc! > b.valAcc! ? r : b));
      assert.deepEqual([u.stopped_epoch, u.stopped_test_acc], [best.epoch, best.testAcc]);
      assert.equal(u.test_acc, u.history.at(-1)!.testAcc);
    }
    const row = first.rows[1]!;
    const release = all.find((u) => u.condition === "smallcnn-bn/bdr:2/release")!;
    const clean = all.find((u) => u.condition === "smallcnn-bn/bdr:2/clean")!;
    assert.deepEqual(
      [row.stopped, row.final, row.clean_stopped, row.clean_final],
      [release.stopped_test_acc, release.test_acc, clean.stopped_test_acc, clean.test_acc],
    );
  });

  test("report.html: the headline, the marked worst case, the page's CSP", () => {
    const html = readFileSync(first.report, "utf-8");
    assert.ok(html.includes(`content="${CONTENT_SECURITY_POLICY}"`));
    assert.match(html, /worst case: [^<]+/);
    assert.match(html, /protection<\/div><div class="stat-value">-?[\d.]+ points/);
    assert.equal(html.match(/<tr class="highlight">/g)?.length, 1);
    assert.ok(html.includes("even-indexed images of the clean test split"));
    const json = JSON.parse(readFileSync(join(out, "report.json"), "utf-8")) as { generator: string };
    assert.equal(json.generator, "audit");
  });

  test("scripts/experiments/audit.mjs adds the audit to a results list, replacing an entry of the same audit", () => {
    const file = join(tmp, "audits.json");
    writeFileSync(file, `${JSON.stringify([{ release: { id: "another" }, defenses: [], victims: [] }])}\n`);
    for (let k = 0; k < 2; k++) {
      const r = spawnSync(process.execPath, ["scripts/experiments/audit.mjs", out, file], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    }
    const audits = JSON.parse(readFileSync(file, "utf-8"));
    assert.equal(audits.length, 2);
    const a = audits[1];
    assert.deepEqual(
      [a.release.method, a.release.eps, a.release.subset, a.release.options.init, a.release.options.attack_success],
      ["random", 16, 256, "randn", null],
    );
    assert.equal(a.worst_case_acc, Number(first.worst_case.acc.toFixed(4)));
    assert.equal(a.clean_acc, Number(first.clean_acc.toFixed(4)));
    assert.equal(a.plain_stopped_acc, Number(first.rows[0]!.stopped.toFixed(4)));
    assert.equal(a.rows.length, 3);
    assert.deepEqual(a.victim_seeds, [1]);
    assert.equal(a.threads, Number(process.env.ADVPOISON_THREADS ?? 1));
    assert.match(a.command, /^advpoison audit --release .* --json$/);
    assert.match(a.date, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(a.seconds >= 0 && a.victim_seconds > 0);
  });

  test("independent-victim.mjs adds the PyTorch victim to the release's entries; audit.mjs keeps it in place", () => {
    const file = join(tmp, "audits.json");
    // A stand-in for Python with torch (CI has none): it logs its arguments and prints torch-victim.py's JSON line.
    const python = join(tmp, "python");
    const calls = join(tmp, "calls");
    writeFileSync(
      python,
      `#!/bin/sh\necho "$@" >> ${calls}\n` +
        `case "$2" in */release) a=0.3; p=0.4 ;; *) a=0.8; p=0.85 ;; esac\n` +
        `echo '{"trainer": "pytorch", "model": "pytorch-examples-mnist", "epochs": 5, "images": 256, ` +
        `"test_acc": '$a', "peak_test_acc": '$p', "peak_epoch": 2, "seconds": 1.5, "torch": "2.x"}'\n`,
      { mode: 0o755 },
    );
    const victim = (f: string) =>
      spawnSync(process.execPath, ["scripts/experiments/independent-victim.mjs", out, f], {
        encoding: "utf8",
        env: { ...process.env, PYTHON: python, ADVPOISON_THREADS: "1" },
      });
    const r = victim(file);
    assert.equal(r.status, 0, r.stderr);
    const args = readFileSync(calls, "utf-8").trim().split("\n");
    assert.match(args[0]!, /torch-victim\.py \S+\/release --test \S+ --epochs 5 --seed 1$/);
    assert.match(args[1]!, /torch-victim\.py \/usr\/share\/datasets\/fashion-mnist .* --subset 256$/);
    let audits = JSON.parse(readFileSync(file, "utf-8"));
    assert.equal(audits[0].independent_victim, undefined, "another release's entry is left alone");
    const v = audits[1].independent_victim;
    assert.deepEqual(
      [v.final, v.peak, v.peak_epoch, v.clean_final, v.clean_peak, v.images],
      [0.3, 0.4, 2, 0.8, 0.85, 256],
    );
    // Again: the clean victim recorded above (same images, epochs, seed, threads, torch) is not trained again.
    assert.equal(victim(file).status, 0);
    assert.equal(readFileSync(calls, "utf-8").trim().split("\n").length, 3);
    audits = JSON.parse(readFileSync(file, "utf-8"));
    const again = audits[1].independent_victim;
    assert.deepEqual({ ...again, seconds: v.seconds }, v);
    // Another audit after it; recording this audit again keeps its place and its victim.
    audits.push({ release: { id: "later" }, defenses: [], victims: [] });
    writeFileSync(file, JSON.stringify(audits));
    const recorded = spawnSync(process.execPath, ["scripts/experiments/audit.mjs", out, file], { encoding: "utf8" });
    assert.equal(recorded.status, 0, recorded.stderr);
    audits = JSON.parse(readFileSync(file, "utf-8"));
    assert.deepEqual(
      audits.map((e: { release: { id: string } }) => e.release.id),
      ["another", first.release.id, "later"],
    );
    assert.deepEqual(audits[1].independent_victim, again);
    // No entry of this release: refused, the file as it was.
    const lone = join(tmp, "lone.json");
    writeFileSync(lone, "[]\n");
    const refused = victim(lone);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /has no audit of release .*; record the audit first/);
    assert.equal(readFileSync(lone, "utf-8"), "[]\n");
  });

  test("a second run trains nothing; a victim missing from results.json is the only one trained again", () => {
    const before = units(out);
    const again = cli(args);
    assert.equal(again.status, 0, again.stderr);
    const j = lastJson(again.stdout);
    assert.deepEqual([j.victims_trained, j.victims_reused], [0, 6]);
    assert.deepEqual(j.rows, first.rows);
    assert.deepEqual(units(out), before);
    assert.doesNotMatch(again.stderr, /epoch 1\/2/);

    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf-8"));
    const key = Object.keys(results.units).find((k) => k.startsWith("victim/smallcnn-bn/bdr:2/clean/"))!;
    delete results.units[key];
    writeFileSync(join(out, "results.json"), JSON.stringify(results));
    const third = cli(args);
    assert.equal(third.status, 0, third.stderr);
    const k = lastJson(third.stdout);
    assert.deepEqual([k.victims_trained, k.victims_reused], [1, 5]);
    assert.ok(units(out)[key], "the victim was not recorded again");
    // Training is deterministic at a given thread count: the retrained victim scores as it did.
    assert.deepEqual(k.rows, first.rows);
  });

  test("audit.mjs on a re-run that trained nothing keeps when, how and why the victims were measured", () => {
    const again = cli(args);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(lastJson(again.stdout).victims_trained, 0);
    const file = join(tmp, "rerun.json");
    const record = () =>
      spawnSync(process.execPath, ["scripts/experiments/audit.mjs", out, file], { encoding: "utf8" });
    writeFileSync(file, "[]\n");
    assert.equal(record().status, 0);
    const [fresh] = JSON.parse(readFileSync(file, "utf-8"));
    // As an entry recorded before survival existed, from the run that trained its victims.
    const { survival: _, ...old } = fresh;
    const earlier = {
      ...old,
      release: { ...old.release, label: "a lever" },
      date: "2000-01-01",
      threads: 7,
      seconds: 123,
      note: "how it was made",
      independent_victim: { peak: 0.5 },
    };
    writeFileSync(file, JSON.stringify([earlier]));
    assert.equal(record().status, 0);
    const [kept] = JSON.parse(readFileSync(file, "utf-8"));
    assert.deepEqual(kept, { ...earlier, survival: fresh.survival });
    assert.deepEqual(
      fresh.survival.map((r: { defense: string }) => r.defense),
      ["none", "bdr:2"],
    );
  });
});
