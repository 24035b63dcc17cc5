// Folder datasets stream (their files are decoded when read, nothing held), and that changes no output: an
// eager (in-memory) and a streamed read of the same generated ImageFolder tree give the same batches, channel
// means and, method by method, the same release bytes; a streamed run resumed from some chunks too; verify
// accepts both releases against either reading of the source.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import {
  buildBatch,
  channelMeans,
  DataLoader,
  type Dataset,
  encodePng,
  imageBytes,
  inMemory,
  loadDataset,
  readImages,
  readRange,
  subset,
} from "../../src/data/index.js";
import { withBudget } from "../../src/experiment/derive.js";
import { createModel, type LoadedModel } from "../../src/models/index.js";
import {
  ChunkStore,
  type CraftPlan,
  craftRelease,
  craftShard,
  loadReleaseSplit,
  makePlan,
  type PlanRequest,
  readManifest,
  verifyRelease,
} from "../../src/poison/index.js";
import { manualSeed, scope } from "../../src/torch/index.js";
import { jpegBytes, tempDir } from "../data/fixtures.js";

const SIDE = 12;
const CLASSES = 3;

/** A seeded ImageFolder tree: `train` and `test` images per split, RGB PNGs, a few JPEGs, one odd-sized image. */
function makeTree(root: string, counts: { train: number; test: number }): void {
  let state = 12345;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 24;
  };
  for (const split of ["train", "test"] as const) {
    for (let i = 0; i < counts[split]; i++) {
      const dir = join(root, split, `class-${i % CLASSES}`);
      mkdirSync(dir, { recursive: true });
      // Larger than SIDE on purpose: the reader resizes and centre-crops them to SIDE x SIDE.
      const [h, w] = i % 7 === 3 ? [SIDE + 4, SIDE + 9] : [SIDE + 2, SIDE + 2];
      const rgb = Uint8Array.from({ length: h * w * 3 }, next);
      if (i % 5 === 1) writeFileSync(join(dir, `img-${String(i).padStart(3, "0")}.jpg`), jpegBytes(rgb, h, w));
      else writeFileSync(join(dir, `img-${String(i).padStart(3, "0")}.png`), encodePng(rgb, h, w, 3));
    }
  }
}

/** Every file of a tree but the manifest: its bytes, by relative path. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name !== "manifest.json") out[relative(dir, p)] = readFileSync(p).toString("base64");
    }
  };
  walk(dir);
  return out;
}

/** The manifest without what names the run (its time, its output directory, how long it took). */
function manifestOf(dir: string): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  delete m.created;
  delete m.release.spec;
  delete m.crafting_seconds;
  return m;
}

describe("streamed folder datasets", () => {
  const root = tempDir();
  const data = join(root, "tree");
  makeTree(data, { train: 45, test: 10 });
  const options = { resize: SIDE, crop: SIDE };
  const eager = loadDataset(`folder:${data}`, { ...options, memory: true });
  const streamed = loadDataset(`folder:${data}`, options);

  test("are indexed, not read: same shape, labels and files as the eager read, and the same pixels", () => {
    assert.ok(eager.train.images instanceof Uint8Array);
    assert.equal(streamed.train.images, undefined);
    for (const split of ["train", "test"] as const) {
      const [a, b] = [eager[split], streamed[split]];
      assert.deepEqual([b.count, b.height, b.width, b.channels], [a.count, a.height, a.width, a.channels]);
      assert.deepEqual(b.labels, a.labels);
      assert.deepEqual(b.classNames, a.classNames);
      assert.deepEqual(b.source, a.source);
      assert.deepEqual(readRange(b, 0, b.count), a.images);
    }
    const picked = [44, 0, 7, 7, 13];
    assert.deepEqual(readImages(streamed.train, picked), readImages(eager.train, picked));
    assert.deepEqual(imageBytes(streamed.train, 9), imageBytes(eager.train, 9));
    assert.deepEqual(readRange(subset(streamed.train, 20), 0, 20), readRange(eager.train, 0, 20));
    assert.deepEqual(channelMeans(streamed.train), channelMeans(eager.train));
  });

  test("give the same batches: buildBatch, and a shuffled, augmented, normalised loader epoch", () => {
    scope(() => {
      const indices = Int32Array.from([3, 40, 11, 0, 22]);
      const [a, b] = [buildBatch(eager.train, indices), buildBatch(streamed.train, indices)];
      assert.deepEqual(b.x.toTypedArray(), a.x.toTypedArray());
      assert.deepEqual(b.y.toTypedArray(), a.y.toTypedArray());
      const loader = (ds: Dataset) =>
        new DataLoader(ds, {
          batchSize: 8,
          shuffle: true,
          seed: 3,
          augment: { cropPadding: 2, flip: true },
          normalize: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] },
        });
      const batches = (ds: Dataset) =>
        [...loader(ds).epoch(1)].map((batch) => [batch.x.toTypedArray(), batch.y.toTypedArray(), batch.indices]);
      assert.deepEqual(batches(streamed.train), batches(eager.train));
    });
  });

  /** A model of the data's shape, randomly initialised with `seed`, as a crafting model. */
  function crafter(seed: number): LoadedModel {
    manualSeed(seed);
    const info = { model: "smallcnn-bn", inChannels: 3, numClasses: CLASSES, imageSize: SIDE };
    return { model: createModel(info.model, info), info, sha256: "0".repeat(64), metadata: {} };
  }

  const request = (method: string, extra: Partial<PlanRequest> = {}): PlanRequest => ({
    method,
    eps: 8,
    chunkSize: 7,
    seed: 4,
    dataset: { spec: `folder:${data}`, dataDir: null, subset: null },
    ...extra,
  });

  /** Crafts `req` on both readings of the source; the two release directories. */
  async function both(
    name: string,
    req: PlanRequest,
    models: LoadedModel[] = [],
    format: "same" | "npy" = "same",
  ): Promise<[string, string]> {
    const refs = models.map((m) => ({ path: "crafter.safetensors", model: m.info.model, sha256: m.sha256 }));
    const outs: string[] = [];
    for (const [kind, ds] of [
      ["eager", eager],
      ["streamed", streamed],
    ] as const) {
      const plan = makePlan(req, ds.train, refs);
      const out = join(root, `${name}-${kind}`);
      await craftRelease({ plan, source: ds.train, test: ds.test, models, out, format });
      outs.push(out);
    }
    return outs as [string, string];
  }

  const cases: [string, PlanRequest, number | undefined][] = [
    ["random, 60% budget", request("random", { budget: 0.6 }), undefined],
    ["targeted with the authors' augmentation", request("targeted", { steps: 2 }), 1],
    ["untargeted, 50% budget, no augmentation", request("untargeted", { steps: 2, budget: 0.5, augment: false }), 2],
    ["ops", request("ops"), undefined],
    ["lsp", request("lsp", { settings: { patchSize: 4 } }), undefined],
    [
      "error-min",
      request("error-min", {
        steps: 2,
        settings: { trainSteps: 2, maxRounds: 2, batchSize: 16 },
        crafterModel: "smallcnn-bn",
      }),
      undefined,
    ],
  ];
  for (const [name, req, seed] of cases) {
    test(`craft ${name}: the same release bytes, eager or streamed, and both verify`, async () => {
      const models = seed === undefined ? [] : [crafter(seed)];
      const [a, b] = await both(name.replace(/\W+/g, "-"), req, models);
      assert.deepEqual(tree(b), tree(a));
      assert.deepEqual(manifestOf(b), manifestOf(a));
      const eps = manifestOf(a).plan as CraftPlan;
      for (const source of [eager, streamed])
        for (const dir of [a, b]) {
          const v = verifyRelease(source.train, dir, eps.eps, { test: source.test });
          assert.deepEqual(v.problems, [], `${dir} against the ${source === eager ? "eager" : "streamed"} source`);
        }
      for (const m of models) m.model.dispose();
    });
  }

  test("a release loads streamed in the source's order; a lower budget derived from it streams too", () => {
    const dir = join(root, "targeted-with-the-authors-augmentation-streamed");
    const release = loadReleaseSplit(readManifest(dir), dir, "train");
    assert.equal(release.images, undefined);
    const eagerRelease = inMemory(release);
    const mixed = withBudget(streamed.train, release, 0.5, 9);
    assert.equal(mixed.images, undefined);
    assert.deepEqual(readRange(mixed, 0, mixed.count), withBudget(eager.train, eagerRelease, 0.5, 9).images);
    assert.notDeepEqual(readRange(mixed, 0, mixed.count), eager.train.images);
  });

  test("a streamed craft resumed from some finished chunks writes the same bytes", async () => {
    const req = request("random", { budget: 0.6 });
    const plan = makePlan(req, streamed.train, []);
    const out = join(root, "resumed");
    // A run killed after crafting every other chunk: those are kept in OUT.work and not crafted again.
    const store = ChunkStore.open(`${out}.work`, plan);
    await craftShard(streamed.train, plan, [], store, { shard: { index: 0, count: 2 } });
    const done = readdirSync(`${out}.work`).filter((f) => f.startsWith("chunk-")).length;
    assert.ok(done >= 2);
    const r = await craftRelease({ plan, source: streamed.train, test: streamed.test, models: [], out });
    assert.equal(r.stats.chunksSkipped, done);
    assert.deepEqual(tree(out), tree(join(root, "random-60-budget-eager")));
  });

  test("a streamed source written as npy (a whole-array format) gives the eager bytes", async () => {
    const [a, b] = await both("npy", request("random", { chunkSize: 16 }), [], "npy");
    assert.ok(readdirSync(b).includes("train_images.npy"));
    assert.deepEqual(tree(b), tree(a));
  });
});
