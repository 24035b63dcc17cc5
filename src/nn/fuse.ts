// Conv/batch-norm pairs as architectures state them (as torchvision's fuse_modules lists do), and folding each
// pair once into the conv for a frozen, eval-mode copy of a model.
import { BatchNorm2d, Conv2d } from "./layers.js";
import type { Module } from "./module.js";

/** Module paths (as in the state dict, without the tensor name) of a conv and the batch norm applied to its output. */
export type ConvBnPair = readonly [conv: string, bn: string];

/** A module that states which of its convs feed a batch norm directly, in paths relative to itself. */
export interface DeclaresConvBnPairs {
  convBnPairs(): readonly ConvBnPair[];
}

function declaresPairs(m: Module): m is Module & DeclaresConvBnPairs {
  return typeof (m as Partial<DeclaresConvBnPairs>).convBnPairs === "function";
}

/** The Conv2d-then-BatchNorm2d neighbours among a sequential container's children (its output feeds the next). */
export function sequentialConvBnPairs(seq: Module, prefix = ""): ConvBnPair[] {
  const children = seq.children();
  const pairs: ConvBnPair[] = [];
  children.forEach(([name, m], i) => {
    const next = children[i + 1];
    if (m instanceof Conv2d && next?.[1] instanceof BatchNorm2d) pairs.push([prefix + name, prefix + next[0]]);
  });
  return pairs;
}

/** Every pair stated anywhere in `model`, as paths from the model's root. */
export function convBnPairsOf(model: Module): ConvBnPair[] {
  const pairs: ConvBnPair[] = [];
  for (const [path, m] of model.namedModules()) {
    if (!declaresPairs(m)) continue;
    const prefix = path ? `${path}.` : "";
    for (const [conv, bn] of m.convBnPairs()) pairs.push([prefix + conv, prefix + bn]);
  }
  return pairs;
}

/** Folds every stated batch norm of an eval-mode `model` into its conv (in place); returns how many it folded. */
export function foldBatchNorms(model: Module): number {
  if (model.training) throw new Error("foldBatchNorms: the model must be in eval mode");
  const modules = new Map(model.namedModules());
  const pairs = convBnPairsOf(model);
  for (const [convPath, bnPath] of pairs) {
    const conv = modules.get(convPath);
    const bn = modules.get(bnPath);
    if (!(conv instanceof Conv2d) || !(bn instanceof BatchNorm2d)) {
      throw new Error(`foldBatchNorms: '${convPath}'/'${bnPath}' is not a Conv2d/BatchNorm2d pair`);
    }
    bn.foldInto(conv);
  }
  return pairs.length;
}
