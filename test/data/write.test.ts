import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { writeDirectoryAtomic } from "../../src/data/atomic.js";
import { type Dataset, imageBytes, readImages, STREAM_BLOCK } from "../../src/data/dataset.js";
import { DatasetError } from "../../src/data/errors.js";
import { loadSplit } from "../../src/data/registry.js";
import { writeDataset } from "../../src/data/write.js";
import { writeFileAtomic } from "../../src/util/atomic.js";
import { MARKER_FILE, outputKind } from "../../src/util/ownership.js";
import { tempDir, writeCifar10Fixture, writeIdxFixture } from "./fixtures.js";

/** A pid no process has now. */
function deadPid(): number {
  for (let pid = 4_000_000; ; pid--) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ESRCH") return pid;
    }
  }
}

test("write: an existing output is kept unless force is given, and the error mentions --force", () => {
  const root = tempDir();
  const fx = writeIdxFixture(join(root, "in"), false);
  const train = loadSplit(`mnist:${fx.dir}`, "train");
  const out = join(root, "out");
  mkdirSync(out);
  writeFileSync(join(out, "keep.txt"), "mine");
  assert.throws(
    () => writeDataset(out, { train }),
    (e: unknown) => e instanceof DatasetError && /already exists; pass --force/.test(e.message) && e.path === out,
  );
  assert.deepEqual(readdirSync(out), ["keep.txt"]);
  // A directory advpoison did not write is never replaced, not even with force.
  assert.throws(
    () => writeDataset(out, { train }, { force: true }),
    /out is not an advpoison output .*--force replaces only what advpoison made/,
  );
  assert.deepEqual(readdirSync(out), ["keep.txt"]);
  assert.equal(readFileSync(join(out, "keep.txt"), "utf-8"), "mine");
  // Files that merely carry advpoison's names do not make a user's folder advpoison's, nor a marker that was
  // not written by advpoison (another kind's checksum, a hand-made one).
  writeFileSync(join(out, "manifest.json"), JSON.stringify({ tool: "advpoison" }));
  writeFileSync(join(out, "plan.json"), "{}");
  writeFileSync(join(out, "run.json"), "{}");
  writeFileSync(join(out, MARKER_FILE), JSON.stringify({ tool: "advpoison", kind: "release", checksum: "0" }));
  assert.throws(() => writeDataset(out, { train }, { force: true }), /not an advpoison output/);
  assert.equal(readFileSync(join(out, "keep.txt"), "utf-8"), "mine");
  // What advpoison wrote (its marker) is replaced with force, and the new output carries the marker again.
  rmSync(out, { recursive: true });
  writeDataset(out, { train });
  assert.equal(outputKind(out), "dataset");
  writeDataset(out, { train }, { force: true });
  assert.deepEqual(readdirSync(out).sort(), [MARKER_FILE, "train-images-idx3-ubyte", "train-labels-idx1-ubyte"]);
  assert.deepEqual(readdirSync(root).sort(), ["in", "out"], "no temporary directories left");
  // So is an empty directory; a plain file is not.
  rmSync(out, { recursive: true });
  mkdirSync(out);
  writeDataset(out, { train }, { force: true });
  const file = join(root, "file");
  writeFileSync(file, "mine");
  assert.throws(() => writeDataset(file, { train }, { force: true }), /is a file, not an advpoison output directory/);
  assert.equal(readFileSync(file, "utf-8"), "mine");
});

test("write: the temporaries of a killed write to the same target are removed, a live writer's kept", () => {
  const root = tempDir();
  const fx = writeIdxFixture(join(root, "in"), false);
  const train = loadSplit(`mnist:${fx.dir}`, "train");
  const dead = deadPid();
  const stale = [`.out.tmp-${dead}-${Date.now().toString(36)}-abc123`, `.out.old-${dead}-kq3x-zz9`];
  for (const name of stale) mkdirSync(join(root, name, "train"), { recursive: true });
  // Our own pid with a time before this process started: a dead namesake (a container's pid 1 every run).
  const namesake = `.out.tmp-${process.pid}-${(Date.now() - 3600_000).toString(36)}-abc`;
  const live = `.out.tmp-${process.ppid}-${Date.now().toString(36)}-abc`;
  const other = `.other.tmp-${dead}-kq3x-abc`;
  for (const name of [namesake, live, other]) mkdirSync(join(root, name));
  writeDataset(join(root, "out"), { train });
  assert.deepEqual(readdirSync(root).sort(), [live, other, "in", "out"].sort());
});

test("write: a failure part-way leaves no output and no temporary directory", () => {
  const root = tempDir();
  const out = join(root, "out");
  assert.throws(
    () =>
      writeDirectoryAtomic(out, false, "dataset", (dir) => {
        writeFileSync(join(dir, "half.bin"), "partial");
        throw new Error("disk full");
      }),
    /disk full/,
  );
  assert.deepEqual(readdirSync(root), []);
  // With force over an existing output, the old output survives a failed write untouched.
  mkdirSync(out);
  writeFileSync(join(out, "old.bin"), "old");
  assert.throws(() =>
    writeDirectoryAtomic(out, true, "dataset", () => {
      throw new Error("crash");
    }),
  );
  assert.deepEqual(readdirSync(root), ["out"]);
  assert.equal(readFileSync(join(out, "old.bin"), "utf-8"), "old");
});

test("write: npy and folder on request, from CIFAR; both read back identical", () => {
  const root = tempDir();
  writeCifar10Fixture(join(root, "c10"), 2, 3);
  const train = loadSplit(`cifar10:${join(root, "c10")}`, "train");
  const testSplit = loadSplit(`cifar10:${join(root, "c10")}`, "test");
  writeDataset(join(root, "npy"), { train, test: testSplit }, { format: "npy" });
  const npyTrain = loadSplit(`npy:${join(root, "npy")}`, "train");
  assert.deepEqual(npyTrain.images, train.images);
  assert.deepEqual(npyTrain.labels, train.labels);
  assert.deepEqual(npyTrain.classNames, train.classNames);
  assert.equal(npyTrain.channels, 3);
  assert.equal(npyTrain.source.format === "npy" && npyTrain.source.imagesNdim, 4);

  writeDataset(join(root, "png"), { train }, { format: "folder" });
  // CIFAR-10's names are valid and already sorted: they are used as they are.
  assert.deepEqual(readdirSync(join(root, "png", "train")).slice(0, 2), ["airplane", "automobile"]);
  const folder = loadSplit(`folder:${join(root, "png")}`, "train");
  assert.deepEqual(folder.classNames, train.classNames);
  const order = Array.from(train.labels.keys()).sort((a, b) => train.labels[a]! - train.labels[b]! || a - b);
  assert.deepEqual(
    Array.from(folder.labels),
    order.map((i) => train.labels[i]!),
  );
  for (const [k, i] of order.entries()) {
    assert.deepEqual(imageBytes(folder, k), imageBytes(train, i));
  }
});

test("write: a streamed set is written as npy block by block, to the bytes of the same set in memory", () => {
  const root = tempDir();
  writeCifar10Fixture(join(root, "c10"), 2, 300);
  const eager = loadSplit(`cifar10:${join(root, "c10")}`, "train");
  let largest = 0;
  const streamed: Dataset = {
    ...eager,
    images: undefined,
    store: {
      read(indices) {
        largest = Math.max(largest, indices.length);
        return readImages(eager, indices);
      },
    },
  };
  writeDataset(join(root, "eager"), { train: eager }, { format: "npy" });
  writeDataset(join(root, "streamed"), { train: streamed }, { format: "npy" });
  assert.ok(eager.count > STREAM_BLOCK);
  assert.equal(largest, STREAM_BLOCK);
  for (const file of ["train_images.npy", "train_labels.npy", "class_names.txt"])
    assert.deepEqual(readFileSync(join(root, "streamed", file)), readFileSync(join(root, "eager", file)), file);
});

test("write: refuses what it cannot write consistently", () => {
  const root = tempDir();
  const fx = writeIdxFixture(join(root, "idx"), false);
  writeCifar10Fixture(join(root, "c10"), 1, 2);
  const idx = loadSplit(`mnist:${fx.dir}`, "train");
  const cifar = loadSplit(`cifar10:${join(root, "c10")}`, "test");
  assert.throws(() => writeDataset(join(root, "a"), {}), /nothing to write/);
  const short = { ...idx, images: idx.images!.subarray(1) };
  assert.throws(() => writeDataset(join(root, "a"), { train: short }), /train split to write: holds 575 image bytes/);
  assert.throws(
    () => writeDataset(join(root, "b"), { train: idx, test: cifar }),
    /train split is idx but test split is cifar10/,
  );
  assert.throws(
    () => writeDataset(join(root, "c"), { train: idx, test: { ...cifar, source: idx.source } }, { format: "npy" }),
    /different class names/,
  );
  assert.deepEqual(readdirSync(root).sort(), ["c10", "idx"]);
});

test("writeFileAtomic: a killed write's .NAME.tmp-* file beside the target is removed by the next write", () => {
  const root = tempDir();
  const stale = `.chunk.safetensors.tmp-${deadPid()}-kq3x-abc`;
  writeFileSync(join(root, stale), "half");
  writeFileAtomic(join(root, "chunk.safetensors"), "whole");
  assert.deepEqual(readdirSync(root), ["chunk.safetensors"]);
});
