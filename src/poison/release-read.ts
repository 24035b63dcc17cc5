// Reading a release back in its source's order. Formats with one file per image (folder) are read in class,
// then file-name order; the manifest's source_index (file -> source index) puts each image back where its
// source image is, so that verify and the reports compare every image with the one it was made from.
import { join, relative, sep } from "node:path";
import type { Dataset, Split } from "../data/index.js";
import { loadSplit, mappedStore } from "../data/index.js";
import { type Manifest, releaseSpec } from "./release.js";

/** The release's split `split`, images (and labels) in the source's order. Throws naming a file not mapped. */
export function loadReleaseSplit(manifest: Manifest, dir: string, split: Split): Dataset {
  const ds = loadSplit(releaseSpec(manifest.plan, manifest.release.format, dir), split);
  const index = manifest.source_index;
  if (index === undefined) return ds;
  if (ds.source.format !== "folder")
    throw new Error(`${dir}: the manifest maps image files but ${split} is not a folder`);
  const { root, fileNames } = ds.source;
  const size = ds.height * ds.width * ds.channels;
  // In memory: the images copied into place; streamed: a store reading source position i from file j.
  const images = ds.images ? new Uint8Array(ds.images.length) : undefined;
  const fileOf = new Int32Array(ds.count);
  const labels = new Int32Array(ds.count);
  const names: string[] = new Array(ds.count);
  const filled = new Uint8Array(ds.count);
  for (let j = 0; j < ds.count; j++) {
    const file = relative(dir, join(root, ds.classNames[ds.labels[j]!]!, fileNames[j]!))
      .split(sep)
      .join("/");
    const i = Object.hasOwn(index, file) ? index[file] : undefined;
    if (i === undefined) throw new Error(`${dir}: ${file} is not in the manifest's source_index`);
    if (!(Number.isInteger(i) && i >= 0 && i < ds.count) || filled[i])
      throw new Error(`${dir}: ${file} maps to source index ${i}, outside 0..${ds.count - 1} or taken twice`);
    filled[i] = 1;
    images?.set(ds.images!.subarray(j * size, (j + 1) * size), i * size);
    fileOf[i] = j;
    labels[i] = ds.labels[j]!;
    names[i] = fileNames[j]!;
  }
  const pixels = images ? { images } : { images: undefined, store: mappedStore(ds, fileOf) };
  return { ...ds, ...pixels, labels, source: { ...ds.source, fileNames: names } };
}
