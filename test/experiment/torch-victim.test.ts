// scripts/experiments/torch-victim.py, the victim that owes nothing to advpoison: it reads standard gzipped IDX
// files as advpoison writes them, learns from their labels and is scored against the clean test labels.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { encodeIdx } from "../../src/data/idx.js";
import { Rng } from "../../src/data/rng.js";
import { needs, pythonLacks, SYSTEM_PYTHON } from "../requirements.js";

const SCRIPT = join(process.cwd(), "scripts/experiments/torch-victim.py");
const missing = pythonLacks("torch", "numpy");

/** n 28x28 images whose class k is a bright 6x6 square at the k-th place of a 5x2 grid, on noise. */
function patches(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed, 0);
  const images = new Uint8Array(n * 784);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 10;
    labels[i] = k;
    for (let p = 0; p < 784; p++) images[i * 784 + p] = Math.floor(rng.nextFloat() * 60);
    const top = 3 + 13 * Math.floor(k / 5);
    const left = 1 + 5 * (k % 5);
    for (let r = 0; r < 6; r++) for (let c = 0; c < 5; c++) images[i * 784 + (top + r) * 28 + left + c] = 250;
  }
  return { images, labels };
}

function writeSplit(dir: string, split: "train" | "t10k", images: Uint8Array, labels: Uint8Array): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${split}-images-idx3-ubyte.gz`), gzipSync(encodeIdx([images.length / 784, 28, 28], images)));
  writeFileSync(join(dir, `${split}-labels-idx1-ubyte.gz`), gzipSync(encodeIdx([labels.length], labels)));
}

function victim(train: string, test: string, ...args: string[]) {
  return spawnSync(SYSTEM_PYTHON, [SCRIPT, train, "--test", test, ...args], {
    encoding: "utf8",
    env: { ...process.env, OMP_NUM_THREADS: "1" },
  });
}

describe("torch-victim.py", { skip: needs(missing === undefined, `python3-torch (${missing})`) }, () => {
  const root = mkdtempSync(join(tmpdir(), "advpoison-torch-victim-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const train = patches(600, 1);
  const clean = patches(200, 2);
  writeSplit(join(root, "test"), "t10k", clean.images, clean.labels);

  test("learns the training labels and is scored on the clean test set, per epoch", () => {
    writeSplit(join(root, "right"), "train", train.images, train.labels);
    const r = victim(join(root, "right"), join(root, "test"), "--epochs", "2");
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    assert.equal(out.trainer, "pytorch");
    assert.equal(out.images, 600);
    assert.equal(out.epoch_test_acc.length, 2);
    assert.equal(out.test_acc, out.epoch_test_acc[1]);
    assert.equal(out.peak_test_acc, Math.max(...out.epoch_test_acc));
    assert.ok(out.test_acc > 0.9, `accuracy ${out.test_acc}`);
  });

  test("labels shifted by one class teach the shift: clean accuracy collapses", () => {
    const shifted = train.labels.map((y) => (y + 1) % 10);
    writeSplit(join(root, "shifted"), "train", train.images, shifted);
    const r = victim(join(root, "shifted"), join(root, "test"), "--epochs", "2", "--subset", "500");
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    assert.equal(out.images, 500);
    assert.ok(out.test_acc < 0.2, `accuracy ${out.test_acc}`);
  });

  test("a release whose label file disagrees with its images is refused in one line", () => {
    writeSplit(join(root, "short"), "train", train.images, train.labels.subarray(0, 599));
    const r = victim(join(root, "short"), join(root, "test"));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr.trim(), /^torch-victim: .*600 train images but 599 labels$/);
  });
});
