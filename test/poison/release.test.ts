// The crafting pipeline through the CLI: resume after a kill and shard+merge give the same bytes as one
// uninterrupted run (recrafting a chunk damaged meanwhile), verify accepts a release and catches a tampered
// one, every release format goes through craft -> verify -> report, and bad input fails cleanly.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { needs } from "../requirements.js";
import { flipTensorByte } from "./synthetic-release.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const CLI = join(process.cwd(), "dist/src/cli/main.js");
const BASE = ["--subset", "512", "--chunk-size", "128", "--steps", "4", "--eps", "8", "--seed", "3"];
const CRAFTER = ["--train-crafter", "--crafter-epochs", "1"];

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });
}

function releaseBytes(dir: string): Buffer {
  return readFileSync(join(dir, "train-images-idx3-ubyte.gz"));
}

describe("crafting pipeline", { skip: needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`) }, () => {
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-release-"));
  const whole = join(tmp, "whole");

  before(() => {
    const r = cli(["craft", ...BASE, ...CRAFTER, "--out", whole, "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(result.count, 512);
    assert.equal(result.poisoned, 512);
    assert.ok(result.max_linf <= 8);
  });

  test("a killed run resumes to the same bytes, crafting the missing chunks and a damaged one again", async () => {
    const out = join(tmp, "resumed");
    const child = spawn(process.execPath, [CLI, "craft", ...BASE, ...CRAFTER, "--out", out], { stdio: "ignore" });
    const work = `${out}.work`;
    const chunks = () => (existsSync(work) ? readdirSync(work).filter((f) => f.startsWith("chunk-")).length : 0);
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (chunks() >= 2) {
          clearInterval(timer);
          child.kill("SIGKILL");
          resolve();
        } else if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error("craft finished before it could be killed"));
        }
      }, 20);
    });
    await new Promise((resolve) => child.on("exit", resolve));
    assert.ok(!existsSync(out), "a killed run must not leave a release");
    const kept = chunks();
    assert.ok(kept >= 2 && kept < 4, `${kept} of 4 chunks on disk after the kill`);
    // One image byte of a finished chunk flipped while the run was down: it must not be trusted.
    flipTensorByte(join(work, "chunk-000000.safetensors"), "images", 300);
    // Run again without --resume: one line saying how to continue, and the chunks are left as they were.
    const before = readdirSync(work).sort();
    const again = cli(["craft", ...BASE, ...CRAFTER, "--out", out]);
    assert.equal(again.status, 1);
    assert.match(
      again.stderr,
      /resumed\.work: an earlier craft's chunks \(killed\?\); pass --resume to continue or --force/,
    );
    assert.deepEqual(readdirSync(work).sort(), before);
    const r = cli(["craft", ...BASE, ...CRAFTER, "--out", out, "--resume"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /resumed\.work\/chunk-000000\.safetensors: checksum mismatch: its bytes changed: not counted/,
    );
    assert.match(r.stderr, new RegExp(`resuming: ${kept - 1}/4 chunks already crafted`));
    // The resumed run crafted exactly the chunks it did not trust or have: the damaged one and the rest.
    assert.match(r.stderr, new RegExp(`crafted ${(4 - kept + 1) * 128} images in`));
    assert.ok(releaseBytes(out).equals(releaseBytes(whole)), "resumed release differs from the uninterrupted one");
  });

  test("shards merged give the same bytes", () => {
    // Shards must craft against the same model: train it once, as the uninterrupted run did.
    const t = cli([
      "train",
      "--subset",
      "512",
      "--epochs",
      "1",
      "--seed",
      "3",
      "--out",
      join(tmp, "crafter"),
      "--json",
    ]);
    assert.equal(t.status, 0, t.stderr);
    const model = join(tmp, "crafter", "model.safetensors");
    const shardArgs = (i: number) => [
      "craft",
      ...BASE,
      "--crafter",
      model,
      "--shard",
      `${i}/2`,
      "--out",
      join(tmp, `shard${i}`),
    ];
    for (const i of [0, 1]) assert.equal(cli(shardArgs(i)).status, 0);
    const merged = join(tmp, "merged");
    const m = cli(["merge", join(tmp, "shard0"), join(tmp, "shard1"), "--out", merged]);
    assert.equal(m.status, 0, m.stderr);
    const single = join(tmp, "single");
    assert.equal(cli(["craft", ...BASE, "--crafter", model, "--out", single]).status, 0);
    assert.ok(releaseBytes(merged).equals(releaseBytes(single)), "merged shards differ from the single run");
  });

  test("merge refuses incomplete shards", () => {
    const m = cli(["merge", join(tmp, "shard0"), "--out", join(tmp, "half")]);
    assert.notEqual(m.status, 0);
    assert.match(m.stderr, /chunks are not crafted yet/);
    assert.ok(!existsSync(join(tmp, "half")));
  });

  test("verify accepts the release and catches tampering", () => {
    const ok = cli(["verify", "--source", "fashion-mnist", "--subset", "512", "--release", whole, "--eps", "8"]);
    assert.equal(ok.status, 0, ok.stderr);
    const tampered = join(tmp, "tampered");
    assert.equal(cli(["craft", ...BASE, ...CRAFTER, "--out", tampered]).status, 0);
    const file = join(tampered, "train-images-idx3-ubyte.gz");
    const raw = gunzipSync(readFileSync(file));
    // One pixel of image 0 (after the 16-byte IDX header), moved far outside the ball.
    raw[16 + 100] = (raw[16 + 100]! + 40) % 256;
    writeFileSync(file, gzipSync(raw));
    const bad = cli(["verify", "--source", "fashion-mnist", "--subset", "512", "--release", tampered, "--eps", "8"]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /exceed eps 8/);
  });

  test("every release format goes through craft -> verify -> report, images paired with their sources", () => {
    const dir = join(tmp, "formats");
    mkdirSync(dir);
    const small = ["--subset", "256", "--steps", "2", "--eps", "8", "--seed", "3", "--recipe", "random"];
    for (const format of ["same", "npy", "folder"]) {
      const out = join(dir, format);
      const c = cli(["craft", ...small, "--format", format, "--out", out]);
      assert.equal(c.status, 0, c.stderr);
      const v = cli(["verify", "--source", "fashion-mnist", "--subset", "256", "--release", out, "--eps", "8"]);
      assert.equal(v.status, 0, `${format}: ${v.stderr}`);
      assert.match(v.stdout, /^ok: \d+ files, 256 images, 256 poisoned, max L-inf 8, eps 8 \(L-inf <= 8 grey levels\)/);
    }
    const r = cli(["report", dir]);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
    assert.equal(report.imageGrids.length, 3);
    for (const grid of report.imageGrids) {
      const examples = grid.rows.flatMap((row: { examples: { linf: number }[] }) => row.examples);
      assert.ok(examples.length >= 10, grid.title);
      // Paired with the wrong source image, a perturbation would span far more than 8 grey levels.
      for (const e of examples) assert.ok(e.linf > 0 && e.linf <= 8, `${grid.title}: L-inf ${e.linf}`);
    }
  });

  test("--force replaces only what advpoison marked as its own, never a folder for its file names", () => {
    const mine = join(tmp, "documents");
    mkdirSync(mine);
    writeFileSync(join(mine, "thesis.tex"), "years of work");
    // Files that merely carry advpoison's names (what made a folder "advpoison's" before its marker).
    for (const name of ["run.json", "plan.json"]) writeFileSync(join(mine, name), "{}");
    const c = cli(["craft", ...BASE, "--recipe", "random", "--out", mine, "--force"]);
    assert.notEqual(c.status, 0);
    assert.match(c.stderr, /documents is not an advpoison output .*--force replaces only what advpoison made/);
    // Training into it is refused even with --force: its run would make the folder look like advpoison's.
    for (const force of [[], ["--force"]]) {
      const t = cli(["train", "--subset", "64", "--epochs", "1", "--out", mine, ...force]);
      assert.notEqual(t.status, 0);
      assert.match(
        t.stderr,
        /documents is not empty and not an advpoison training run \(it holds (plan\.json|thesis\.tex)\)/,
      );
    }
    assert.deepEqual(readdirSync(mine).sort(), ["plan.json", "run.json", "thesis.tex"]);
    assert.equal(readFileSync(join(mine, "thesis.tex"), "utf8"), "years of work");
    assert.ok(!existsSync(`${mine}.work`), "no work directory beside it either");
  });

  test("bad input fails with a clear message and leaves existing output alone", () => {
    const before = releaseBytes(whole);
    const cases: [string[], RegExp][] = [
      [["craft", ...BASE, ...CRAFTER, "--eps", "300", "--out", join(tmp, "x")], /eps must be in \(0, 64\]/],
      [["craft", ...BASE, ...CRAFTER, "--out", whole], /exists; pass --force/],
      [["craft", "--dataset", "cifar10:/nonexistent", "--out", join(tmp, "y")], /cifar10.*not found/],
      [["craft", ...BASE, "--crafter", join(tmp, "nope.safetensors"), "--out", join(tmp, "z")], /nope\.safetensors/],
      [["craft", ...BASE, ...CRAFTER, "--recipe", "bogus", "--out", join(tmp, "w")], /unknown method 'bogus'/],
    ];
    for (const [args, message] of cases) {
      const r = cli(args);
      assert.notEqual(r.status, 0, `${args.join(" ")} should fail`);
      assert.match(r.stderr, message);
    }
    assert.ok(releaseBytes(whole).equals(before));
  });
});
