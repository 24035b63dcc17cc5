// The release job: once every chunk job is done, the release is written exactly as `advpoison merge` writes
// it (writeRelease over the run's chunk store), so it has the bytes of a single-process craft of the plan.
// The record was checked by the caller (runOfJob): its release directory lies inside the shared root.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ChunkStore, MANIFEST_FILE, planDatasets, readManifest, writeRelease } from "../poison/index.js";
import { removeOwned } from "../util/ownership.js";
import { chunkDir, type RunRecord } from "./run-record.js";

export interface ReleaseJobResult {
  release: string;
  count: number;
  poisoned: number;
  max_linf: number;
  attack_success: number;
}

export function assembleRelease(rec: RunRecord): ReleaseJobResult {
  // An earlier attempt may have written the release and then lost its job (worker killed): it is this one.
  if (existsSync(join(rec.out, MANIFEST_FILE)) && readManifest(rec.out).plan_digest === rec.digest)
    return resultOf(rec, readManifest(rec.out).summary);
  const { train, test } = planDatasets(rec.plan);
  const store = ChunkStore.read(chunkDir(rec));
  if (store.digest !== rec.digest)
    throw new Error(`${store.dir} holds chunks of plan ${store.digest}, not ${rec.digest}`);
  const manifest = writeRelease(train, [store], rec.out, { format: rec.format, force: rec.force, test });
  // As a local craft removes OUT.work: the chunks are in the release now.
  removeOwned(store.dir, "crafting work directory");
  return resultOf(rec, manifest.summary);
}

function resultOf(rec: RunRecord, s: { count: number; poisoned: number; max_linf: number; attack_success: number }) {
  return {
    release: rec.out,
    count: s.count,
    poisoned: s.poisoned,
    max_linf: s.max_linf,
    attack_success: s.attack_success,
  };
}
