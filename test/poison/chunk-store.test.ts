// Resume trusts only what checks out: a damaged, truncated, forged or foreign chunk is reported by file name,
// crafted again, and never published; a release never breaks its plan's budget.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ChunkStore, craftShard, writeRelease } from "../../src/poison/index.js";
import { chunkPath, craftedStore, flipTensorByte, syntheticSource } from "./synthetic-release.js";

test("a chunk with one flipped image byte is reported by name, not done, and crafted again to the same bytes", async () => {
  const s = syntheticSource();
  const store = await craftedStore(s, "a.work");
  const file = chunkPath(store, 1);
  const good = store.load(1);
  flipTensorByte(file, "images", 5);
  const warnings: string[] = [];
  assert.equal(store.has(1, { warn: (m) => warnings.push(m) }), false);
  assert.match(warnings[0]!, /a\.work\/chunk-000001\.safetensors: checksum mismatch/);
  assert.deepEqual(store.done(), [0]);
  assert.throws(() => store.load(1), /chunk-000001\.safetensors: checksum mismatch/);

  const logged: string[] = [];
  const progress = { start: () => ({ update: () => {}, finish: () => {} }), log: (m: string) => logged.push(m) };
  const stats = await craftShard(s.train, s.plan, [], store, { progress });
  assert.equal(stats.chunksDone, 1, "only the bad chunk is crafted again");
  assert.ok(
    logged.some((m) =>
      /chunk-000001\.safetensors: checksum mismatch: its bytes changed: not counted as crafted/.test(m),
    ),
    logged.join("\n"),
  );
  // The same pixels, indices and flags (the file's recorded crafting time may differ).
  const again = store.load(1);
  assert.deepEqual([again.indices, again.images, again.success], [good.indices, good.images, good.success]);
});

test("a truncated chunk, or one without a checksum, does not count as done", async () => {
  const s = syntheticSource();
  const store = await craftedStore(s, "b.work");
  truncateSync(chunkPath(store, 0), statSync(chunkPath(store, 0)).size - 7);
  const warnings: string[] = [];
  assert.equal(store.has(0, { warn: (m) => warnings.push(m) }), false);
  assert.match(warnings[0]!, /chunk-000000\.safetensors: unreadable chunk/);
  // A chunk saved by an older advpoison (no checksum in its metadata) is not trusted either.
  const bytes = readFileSync(chunkPath(store, 1), "latin1").replace(/"sha256":"[0-9a-f]{64}"/, (m) =>
    m.replace("sha256", "sha2xx"),
  );
  writeFileSync(chunkPath(store, 1), bytes, "latin1");
  assert.throws(() => store.load(1), /chunk-000001\.safetensors: no checksum/);
  assert.deepEqual(store.done(), []);
});

test("a chunk with the wrong indices, or a pixel beyond eps (with a valid checksum), is refused", async () => {
  const s = syntheticSource();
  const store = await craftedStore(s, "c.work");
  const c0 = store.load(0, s.train);
  // Saved through the store, so its checksum is right: only the content checks catch these.
  store.save(0, { ...c0, indices: c0.indices.map((i) => i + 1) }, [8, 6, 1]);
  assert.throws(() => store.load(0), /chunk-000000\.safetensors: its image indices are not the plan's for chunk 0/);
  const far = new Uint8Array(c0.images);
  const i0 = c0.indices[0]!;
  far[3] = (s.train.images![i0 * 48 + 3]! + 134) % 256;
  store.save(0, { ...c0, images: far }, [8, 6, 1]);
  assert.equal(store.has(0), true, "without the source only checksum and indices can be checked");
  const warnings: string[] = [];
  assert.equal(store.has(0, { source: s.train, warn: (m) => warnings.push(m) }), false);
  assert.match(
    warnings[0]!,
    new RegExp(`chunk-000000\\.safetensors: image ${i0} is \\d+ grey levels from its source, more than eps 8`),
  );

  const out = join(s.root, "release");
  assert.throws(
    () => writeRelease(s.train, [store], out, { test: s.test }),
    /1 of 2 chunks are not crafted yet .*unusable: c\.work\/chunk-000000\.safetensors: image \d+ is \d+ grey levels/,
  );
  assert.ok(!existsSync(out), "a release beyond its budget must not be written");
  assert.deepEqual(readdirSync(s.root).sort(), ["c.work", "source"], "nothing else written either");
});

test("a non-empty directory without a plan is not taken as a work directory (a release would delete it)", () => {
  const s = syntheticSource();
  const dir = join(s.root, "mine.work");
  mkdirSync(dir);
  writeFileSync(join(dir, "thesis.tex"), "mine");
  assert.throws(() => ChunkStore.open(dir, s.plan), /mine\.work is not empty and holds no plan\.json/);
  assert.deepEqual(readdirSync(dir), ["thesis.tex"]);
});
