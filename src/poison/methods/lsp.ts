// Linearly separable synthetic perturbations (LSP; Yu, Zhang, Chen, Yin & Liu, "Availability Attacks Create
// Shortcuts", KDD 2022): noise that needs no model, only a shortcut a network learns before the images.
// Followed: the authors' synthetic_perturbations/cifar_train.py (github.com/dayu11/Availability-Attacks-
// Create-Shortcuts) and APBench's attack/lsp_poisons.py, which build it with sklearn's make_classification:
//   - one point per image in F = (patches per column x patches per row x channels) dimensions, drawn from its
//     class's Gaussian cluster: centre at a vertex of the hypercube [-classSep, classSep]^F (distinct per class),
//     spread z A_c with z ~ N(0, I) and A_c uniform in [-1, 1]^(F x F) (make_classification's covariance
//     transform; class_sep 10, one cluster per class, every feature informative);
//   - each coordinate repeated over a `patchSize` square of one channel (the grid of patches), cropped to the
//     image;
//   - scaled to the L2 norm eps * sqrt(C H W) (the authors' comput_l2norm_lim: the ball of RMS eps).
// Here the result is then projected onto the L-inf ball of eps (clipped), so that LSP competes under the
// paper's budget; `norm: "l2"` keeps the authors' L2 ball instead (verified as such). `mode: "class"` uses the
// cluster centres alone: one pattern per class.
//
// The centres and mixing matrices depend only on (plan.seed, number of classes); the spread z of a chunk comes
// from libtorch's generator, seeded per chunk by the chunk loop. So chunks, shards and resumed runs give the
// same bytes.
import { z } from "zod";
import { Rng } from "../../data/index.js";
import { randn, scope, tensor } from "../../torch/index.js";
import { l2Radius } from "../budget.js";
import { distinctSigns } from "../class-signs.js";
import type { ChunkedMethod, ChunkInput } from "./method.js";

/** LSP's settings with their defaults (the methods experiment's `lsp` block takes the same). */
export const LSP_SETTINGS = z.strictObject({
  /** "linf": the authors' noise projected onto the eps L-inf ball; "l2": their L2 ball of radius eps sqrt(CHW). */
  norm: z.enum(["linf", "l2"]).default("linf"),
  /** Side of one patch in pixels (the authors': 8 on 32x32 images, a 4x4 grid). */
  patchSize: z.number().int().positive().default(8),
  /** Half the distance between class centres along each axis (make_classification's class_sep). */
  classSep: z.number().positive().default(10),
  /** "sample": a point per image from its class's cluster (the authors'); "class": the class centre alone. */
  mode: z.enum(["sample", "class"]).default("sample"),
});

const settings = LSP_SETTINGS;

export type LspSettings = z.infer<typeof settings>;

/** The Rng stream of the class patterns, apart from every other use of the plan's seed. */
const PATTERN_STREAM = 0x15b;

/** The patch grid of an image: rows and columns of patches, and the dimension F of the synthetic points. */
export function lspGrid(height: number, width: number, channels: number, patchSize: number) {
  const rows = Math.ceil(height / patchSize);
  const cols = Math.ceil(width / patchSize);
  return { rows, cols, features: rows * cols * channels };
}

export interface LspClusters {
  features: number;
  /** [K, F] cluster centres: distinct vertices of [-classSep, classSep]^F. */
  centres: Float64Array;
  /** [K, F, F] mixing matrices, uniform in [-1, 1]. */
  mixing: Float64Array;
}

/** The classes' clusters for `seed`: a function of (seed, classes, features, classSep) only. */
export function lspClusters(seed: number, classes: number, features: number, classSep: number): LspClusters {
  const rng = new Rng(seed, PATTERN_STREAM);
  const centres = Float64Array.from(distinctSigns(rng, classes, features, "lsp"), (sign) => sign * classSep);
  const mixing = Float64Array.from({ length: classes * features * features }, () => 2 * rng.nextFloat() - 1);
  return { features, centres, mixing };
}

/** One chunk's noise in pixel units, [N, C, H, W]. */
function lspNoise({ ds, plan, indices, eps }: ChunkInput, s: LspSettings): Float32Array {
  const { height: h, width: w, channels: ch } = ds;
  const { cols, features } = lspGrid(h, w, ch, s.patchSize);
  const clusters = lspClusters(plan.seed, ds.numClasses, features, s.classSep);
  const n = indices.length;
  const spread = s.mode === "sample" ? scope(() => randn([n, features]).toTypedArray() as Float32Array) : null;
  const size = ch * h * w;
  const radius = l2Radius(eps, size);
  const out = new Float32Array(n * size);
  const point = new Float64Array(features);
  for (let b = 0; b < n; b++) {
    const c = ds.labels[indices[b]!]!;
    for (let f = 0; f < features; f++) {
      let v = clusters.centres[c * features + f]!;
      if (spread) {
        // The row vector z times A_c, as make_classification's X_k @ A.
        for (let g = 0; g < features; g++)
          v += spread[b * features + g]! * clusters.mixing[(c * features + g) * features + f]!;
      }
      point[f] = v;
    }
    // Patch (row, col) of channel k holds feature (row * cols + col) * C + k (the authors' [P, P, C] reshape).
    let norm2 = 0;
    for (let k = 0; k < ch; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const v = point[(Math.floor(y / s.patchSize) * cols + Math.floor(x / s.patchSize)) * ch + k]!;
          out[b * size + (k * h + y) * w + x] = v;
          norm2 += v * v;
        }
    const scale = norm2 > 0 ? radius / Math.sqrt(norm2) : 0;
    for (let i = b * size; i < (b + 1) * size; i++) {
      const v = out[i]! * scale;
      out[i] = s.norm === "linf" ? Math.min(eps, Math.max(-eps, v)) : v;
    }
  }
  return out;
}

export const lsp: ChunkedMethod<typeof settings> = {
  name: "lsp",
  citation: "Yu et al. 2022, linearly separable synthetic patches",
  needsCrafter: false,
  ownModel: false,
  augments: false,
  attacks: false,
  restartable: false,
  // No attack: the plan records zero steps.
  defaults: { steps: 0, tau: 0, init: "zero" },
  budget: (s) => s.norm,
  success: { short: "fooled", long: "fooled a model (never counted: LSP uses none)" },
  settings,
  flags: [
    {
      flags: "--lsp-norm <norm>",
      key: "norm",
      description: "lsp: linf (projected onto the eps ball, default) or l2 (the authors' ball of radius eps sqrt(CHW))",
    },
    {
      flags: "--lsp-patch-size <n>",
      key: "patchSize",
      description: "lsp: side of one patch in pixels (default 8)",
      parse: Number,
    },
    {
      flags: "--lsp-mode <mode>",
      key: "mode",
      description: "lsp: sample (a point per image from its class's cluster, default) or class (one pattern per class)",
    },
  ],
  chunked: true,
  craftChunk(input, s) {
    return {
      delta: tensor(lspNoise(input, s), input.x.shape, { device: input.x.device }),
      success: new Uint8Array(input.indices.length),
    };
  },
};
