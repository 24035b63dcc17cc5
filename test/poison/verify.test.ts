// verify checks a release whole: each case tampers with a sound release in one way and must be named.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  ChunkStore,
  changedPixels,
  craftShard,
  l2Radius,
  type Manifest,
  makePlan,
  readManifest,
  verifyRelease,
  writeRelease,
} from "../../src/poison/index.js";
import { craftedStore, type Synthetic, syntheticSource } from "./synthetic-release.js";

/** Rewrites a gzipped IDX file through `edit` on its raw bytes (the header is 8 bytes for labels, 16 for images). */
function editGz(file: string, edit: (raw: Buffer) => void): void {
  const raw = gunzipSync(readFileSync(file));
  edit(raw);
  writeFileSync(file, gzipSync(raw));
}

function editManifest(dir: string, edit: (m: Manifest) => void): void {
  const m = readManifest(dir);
  edit(m);
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(m));
}

describe("verify", { timeout: 5 * 60_000 }, () => {
  // Made here, not in before(): the temporary directory is then removed after the whole suite.
  const s: Synthetic = syntheticSource();
  const sound = join(s.root, "release");
  let manifest: Manifest;
  let n = 0;
  /** A fresh copy of a release to tamper with (the sound one by default). */
  const copyOf = (release: string) => {
    const dir = join(s.root, `case-${n++}`);
    cpSync(release, dir, { recursive: true });
    return dir;
  };
  const copy = () => copyOf(sound);
  const problems = (dir: string) => verifyRelease(s.train, dir, 8, { test: s.test }).problems;

  before(async () => {
    manifest = writeRelease(s.train, [await craftedStore(s, "release.work")], sound, { test: s.test });
  });

  test("a sound release passes, its files all listed with size and sha256", () => {
    const v = verifyRelease(s.train, sound, 8, { test: s.test });
    assert.deepEqual(v.problems, []);
    assert.equal(v.ok, true);
    assert.deepEqual(Object.keys(manifest.files), [
      "t10k-images-idx3-ubyte.gz",
      "t10k-labels-idx1-ubyte.gz",
      "train-images-idx3-ubyte.gz",
      "train-labels-idx1-ubyte.gz",
    ]);
    assert.equal(v.checked.files, 4);
    assert.match(manifest.files["train-images-idx3-ubyte.gz"]!.sha256, /^[0-9a-f]{64}$/);
  });

  // Each case: what is done to a copy of the sound release, and the problems verify must report.
  const cases: [string, (dir: string) => void, RegExp[]][] = [
    [
      "a test image changed",
      (d) => editGz(join(d, "t10k-images-idx3-ubyte.gz"), (raw) => void (raw[16 + 50] = raw[16 + 50]! ^ 1)),
      [/changed file t10k-images-idx3-ubyte\.gz/, /1 test images differ from the source's: 1\b/],
    ],
    [
      "a test label changed",
      (d) => editGz(join(d, "t10k-labels-idx1-ubyte.gz"), (raw) => void (raw[8 + 3] = (raw[8 + 3]! + 1) % 10)),
      [/changed file t10k-labels-idx1-ubyte\.gz/, /1 test labels differ from the source's: 3\b/],
    ],
    [
      "t10k-images deleted",
      (d) => rmSync(join(d, "t10k-images-idx3-ubyte.gz")),
      [/missing file t10k-images-idx3-ubyte\.gz/, /the test split does not load/],
    ],
    ["an extra script", (d) => writeFileSync(join(d, "run.sh"), "#!/bin/sh\n"), [/extra file run\.sh/]],
    [
      "a whole .npy tree beside",
      (d) => {
        mkdirSync(join(d, "npy", "deep"), { recursive: true });
        writeFileSync(join(d, "npy", "train_images.npy"), "x");
        writeFileSync(join(d, "npy", "deep", "train_labels.npy"), "y");
      },
      [/extra file npy\/deep\/train_labels\.npy/, /extra file npy\/train_images\.npy/],
    ],
    [
      "an uncompressed train-labels-idx1-ubyte beside the .gz",
      (d) =>
        writeFileSync(
          join(d, "train-labels-idx1-ubyte"),
          gunzipSync(readFileSync(join(sound, "train-labels-idx1-ubyte.gz"))),
        ),
      [/extra file train-labels-idx1-ubyte: not part of the release/],
    ],
    [
      "a pixel of a poisoned image changed within eps",
      (d) => {
        const i = manifest.poisoned_indices[0]!;
        const p = 16 + i * 48 + 7;
        const src = s.train.images![i * 48 + 7]!;
        // To the other side of the source, still within eps: the L-inf may stay, the bytes and L2 do not.
        editGz(
          join(d, "train-images-idx3-ubyte.gz"),
          (raw) => void (raw[p] = raw[p]! === src ? Math.min(src + 1, 255) : src),
        );
      },
      [/changed file train-images-idx3-ubyte\.gz: its sha256 differs/, /manifest L2 is wrong for 1 of 6 images/],
    ],
    [
      "a clean image changed",
      (d) => {
        const i = [...Array(12).keys()].find((k) => !manifest.poisoned_indices.includes(k))!;
        editGz(join(d, "train-images-idx3-ubyte.gz"), (raw) => void (raw[16 + i * 48] = raw[16 + i * 48]! ^ 1));
      },
      [/changed file train-images/, /1 images changed that the manifest lists as clean/],
    ],
    [
      "a pixel far beyond eps",
      (d) => {
        const i = manifest.poisoned_indices[1]!;
        editGz(
          join(d, "train-images-idx3-ubyte.gz"),
          (raw) => void (raw[16 + i * 48] = (raw[16 + i * 48]! + 128) % 256),
        );
      },
      [/1 images exceed eps 8 \(L-inf <= 8 grey levels\) \(worst L-inf \d+\)/, /manifest L-inf is wrong/],
    ],
    [
      "a training label changed",
      (d) => editGz(join(d, "train-labels-idx1-ubyte.gz"), (raw) => void (raw[8 + 2] = (raw[8 + 2]! + 1) % 10)),
      [/1 labels differ from the source \(images 2\)/],
    ],
    [
      "attack_success edited",
      (d) => editManifest(d, (m) => void (m.summary.attack_success = 0.99)),
      [/manifest attack_success 0\.99, but its fooled flags give 0/, /statistics .* were edited/],
    ],
    [
      "one fooled flag edited, attack_success to match",
      (d) =>
        editManifest(d, (m) => {
          m.per_image.fooled[0] = 1;
          m.summary.attack_success = 1 / 6;
        }),
      [/statistics \(poisoned_indices, per_image, summary\) were edited after the release was written/],
    ],
    [
      "a fooled flag that is no flag",
      (d) => editManifest(d, (m) => void (m.per_image.fooled[0] = 7)),
      [/manifest fooled must hold one 0\/1 flag per poisoned image/],
    ],
    [
      "an l2 edited",
      (d) => editManifest(d, (m) => void (m.per_image.l2[2] = 0.5)),
      [/manifest L2 is wrong for 1 of 6/],
    ],
    [
      "max L-inf edited",
      (d) => editManifest(d, (m) => void (m.summary.max_linf = 3)),
      [/manifest max L-inf 3, measured/],
    ],
    ["mean L2 edited", (d) => editManifest(d, (m) => void (m.summary.mean_l2 += 1)), [/manifest mean L2 .*, measured/]],
    [
      "poisoned indices edited",
      (d) => editManifest(d, (m) => void (m.poisoned_indices[0] = m.poisoned_indices[0]! === 0 ? 1 : 0)),
      [/poisoned_indices are not the plan's/],
    ],
    [
      "the plan edited",
      (d) => editManifest(d, (m) => void (m.plan.steps = 250)),
      [/plan digest does not match its plan/],
    ],
    [
      "the count edited",
      (d) => editManifest(d, (m) => void (m.summary.count = 13)),
      [/manifest counts 13 images, source has 12/],
    ],
  ];
  for (const [name, tamper, expected] of cases) {
    test(`names ${name}`, () => {
      const dir = copy();
      tamper(dir);
      const found = problems(dir);
      for (const e of expected)
        assert.ok(
          found.some((p) => e.test(p)),
          `${e} not among:\n${found.join("\n")}`,
        );
    });
  }

  test("a budget smaller than the release's eps is refused", () => {
    assert.ok(
      verifyRelease(s.train, sound, 4, { test: s.test }).problems.some((p) =>
        /manifest says eps 8, more than the 4/.test(p),
      ),
    );
  });

  test("a folder release pairs each image with its source by the manifest's file -> index map", async () => {
    const dir = join(s.root, "folder");
    const m = writeRelease(s.train, [await craftedStore(s, "folder.work")], dir, { format: "folder", test: s.test });
    assert.equal(Object.keys(m.source_index!).length, 12 + 5);
    // Class-sorted order differs from index order here, so pairing by position would fail.
    assert.deepEqual(verifyRelease(s.train, dir, 8, { test: s.test }).problems, []);
    const [file, index] = Object.entries(m.source_index!).find(([f]) => f.startsWith("train/"))!;
    editManifest(dir, (mm) => {
      delete mm.source_index![file];
    });
    assert.ok(
      problems(dir).some((p) => p.includes(`${file} is not in the manifest's source_index`)),
      `${index}`,
    );
  });

  describe("each method under its own budget", () => {
    const IMAGE = 48; // 8x6x1 values
    const IMAGES = "train-images-idx3-ubyte.gz";
    /** A release of `method` on the synthetic source, crafted here (LSP and OPS need no model). */
    const released = async (name: string, method: string, settings: Record<string, unknown>) => {
      const dataset = { spec: s.plan.dataset.spec, dataDir: null, subset: null };
      const plan = makePlan({ method, eps: 8, chunkSize: 4, seed: 1, settings, dataset }, s.train, []);
      const store = ChunkStore.open(join(s.root, `${name}.work`), plan);
      await craftShard(s.train, plan, [], store);
      const dir = join(s.root, name);
      writeRelease(s.train, [store], dir, { test: s.test });
      return dir;
    };
    /** The release's training images, raw (after the 16-byte IDX header). */
    const imagesOf = (dir: string) => gunzipSync(readFileSync(join(dir, IMAGES))).subarray(16);

    test("LSP in the L2 ball (--lsp-norm l2): passes beyond eps in L-inf, fails beyond its L2 radius", async () => {
      const dir = await released("lsp-l2", "lsp", { norm: "l2", patchSize: 2 });
      const sound = verifyRelease(s.train, dir, 8, { test: s.test });
      assert.deepEqual(sound.problems, []);
      assert.ok(sound.checked.maxLinf > 8, `L-inf ${sound.checked.maxLinf}: the sound release must need the L2 budget`);
      assert.match(sound.checked.budget, /eps 8 in L2 \(<= 58\.89 grey levels/);
      // One poisoned image moved a little further out: each value by 3 more grey levels away from its source,
      // past the radius (eps + 0.5) sqrt(48) = 58.89, while every value stays a byte.
      const i = readManifest(dir).poisoned_indices[0]!;
      const tampered = copyOf(dir);
      const src = s.train.images!.subarray(i * IMAGE, (i + 1) * IMAGE);
      editGz(join(tampered, IMAGES), (raw) => {
        for (let k = 0; k < IMAGE; k++) {
          const v = raw[16 + i * IMAGE + k]!;
          raw[16 + i * IMAGE + k] = v >= src[k]! ? Math.min(255, v + 3) : Math.max(0, v - 3);
        }
      });
      const moved = imagesOf(tampered).subarray(i * IMAGE, (i + 1) * IMAGE);
      const l2 = Math.sqrt(src.reduce((a, v, k) => a + (moved[k]! - v) ** 2, 0));
      assert.ok(l2 > l2Radius(8.5, IMAGE), `the tampered image's L2 ${l2} is inside the budget`);
      const found = verifyRelease(s.train, tampered, 8, { test: s.test }).problems;
      assert.ok(
        found.some((p) => new RegExp(`^1 images exceed eps 8 in L2 \\(<= 58\\.89 grey levels.*: ${i}$`).test(p)),
        `no L2 budget line among:\n${found.join("\n")}`,
      );
    });

    test("OPS (an L0 budget of one pixel): passes far beyond eps in L-inf, fails when an image has two changed pixels", async () => {
      const dir = await released("ops", "ops", {});
      const sound = verifyRelease(s.train, dir, 8, { test: s.test });
      assert.deepEqual(sound.problems, []);
      assert.ok(sound.checked.maxLinf > 8, `L-inf ${sound.checked.maxLinf}: OPS sets its pixel to 0 or 255`);
      // A poisoned image with its one changed pixel, and a second pixel changed by one grey level.
      const changed = changedPixels(s.train.images!, imagesOf(dir), IMAGE, 1);
      const i = readManifest(dir).poisoned_indices.find((k) => changed[k] === 1);
      assert.ok(i !== undefined, "no poisoned image has its one pixel changed");
      const tampered = copyOf(dir);
      const k = [...Array(IMAGE).keys()].find((p) => imagesOf(dir)[i * IMAGE + p] === s.train.images![i * IMAGE + p])!;
      editGz(join(tampered, IMAGES), (raw) => void (raw[16 + i * IMAGE + k] = raw[16 + i * IMAGE + k]! ^ 1));
      const found = verifyRelease(s.train, tampered, 8, { test: s.test }).problems;
      assert.ok(
        found.some((p) => new RegExp(`^1 images exceed L0 of 1 pixel .*: ${i}$`).test(p)),
        `no L0 budget line among:\n${found.join("\n")}`,
      );
    });
  });
});
