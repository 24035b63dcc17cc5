// Differentiable augmentation inside the attack loop: a random translation and horizontal flip per image,
// applied with affine_grid + grid_sample so gradients flow back to the perturbation. Poisons crafted through
// it survive the victim's own crop/flip augmentation (Fowl et al., Geiping et al.).
//
// Two kinds. "authors" is lhfowl/adversarial_poisons' RandomTransform (village/materials/
// diff_data_augmentation.py), the default: it adds delta = linspace(0, 1, side)[shift] = shift/(side-1) to an
// align_corners=True identity grid, where a pixel spans 2/(side-1), so the largest shift is shift/2 pixels;
// continuous per-sample shifts, bilinear, flip with p = 0.5, and zero padding of *normalised* images, i.e. the
// dataset's mean colour. "quarter" is this project's earlier transform: shifts up to a fraction of the side
// (a quarter: 8 px on 32) with black padding; kept as an option so that older releases can be reproduced.
import { F, ones, rand, scope, type Tensor, tensor, zeros } from "../torch/index.js";

export const DIFF_AUGMENT_KINDS = ["authors", "quarter"] as const;
export type DiffAugmentKind = (typeof DIFF_AUGMENT_KINDS)[number];
export const DEFAULT_DIFF_AUGMENT_KIND: DiffAugmentKind = "authors";

export interface AuthorsAugment {
  kind: "authors";
  /** RandomTransform's `shift`: the largest translation is shift/2 pixels (see authorsShift). */
  shift: number;
  flip: boolean;
  /** Colour outside the image per channel, in [0, 1] pixel units: the dataset mean (zero once normalised). */
  fill: readonly number[];
}

export interface QuarterAugment {
  kind: "quarter";
  /** Largest shift as a fraction of the image side. */
  maxShift: number;
  flip: boolean;
}

export type DiffAugmentOptions = AuthorsAugment | QuarterAugment;

/** The earlier default: shifts up to a quarter of the side (8 px on 32x32), flips, black padding. */
export const QUARTER_DIFF_AUGMENT: QuarterAugment = { kind: "quarter", maxShift: 0.25, flip: true };

/**
 * The `shift` the authors' furnace.py passes for an image side: 8 for CIFAR's 32 px (±4 px), 4 for MNIST's
 * 28 px (±2 px), 224 // 4 = 56 for ImageNet (±28 px) and 64 // 4 for TinyImageNet. furnace.py chooses by
 * dataset name; here the side stands for it: 28 gives 4, every other side side // 4 (which covers 32, 64, 224).
 */
export function authorsShift(side: number): number {
  if (!Number.isInteger(side) || side < 2) throw new RangeError(`image side must be an integer >= 2, got ${side}`);
  return side === 28 ? 4 : Math.floor(side / 4);
}

/** The authors' augmentation for square images of `side` px whose channel means are `fill` ([0, 1] units). */
export function authorsDiffAugment(side: number, fill: readonly number[]): AuthorsAugment {
  return { kind: "authors", shift: authorsShift(side), flip: true, fill: [...fill] };
}

/** The settings of a kind for square images of `side` px with channel means `fill` (used by "authors" only). */
export function diffAugmentOf(kind: DiffAugmentKind, side: number, fill: readonly number[]): DiffAugmentOptions {
  return kind === "authors" ? authorsDiffAugment(side, fill) : QUARTER_DIFF_AUGMENT;
}

/**
 * One random translation+flip per image of `x` [N,C,H,W] (pixel units). `draws` [N,3] holds the uniform [0, 1)
 * draws, as rand([N, 3]) gives them (drawn here when omitted): "authors" reads its columns as RandomTransform's
 * randgen (x shift, y shift, flip when > 0.5), "quarter" as (flip when < 0.5, x shift, y shift). Everything is
 * assembled on x's device: this runs at every PGD step, where a round trip through host memory would be a
 * sync point on a GPU.
 */
export function diffAugment(x: Tensor, o: DiffAugmentOptions, draws?: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (draws && (draws.shape.length !== 2 || draws.shape[0] !== n || draws.shape[1] !== 3))
    throw new RangeError(`augmentation draws must be [${n}, 3], got [${draws.shape.join(", ")}]`);
  return scope(() => {
    const r = draws ?? rand([n, 3], { device: x.device });
    return o.kind === "authors" ? authorsTransform(x, o, r, [n, c, h, w]) : quarterTransform(x, o, r, [n, c, h, w]);
  });
}

/** theta [N,2,3] = [[sx, 0, tx], [0, sy, ty]] from per-sample [N] tensors; sy is 1 when omitted. */
export function affine(sx: Tensor, tx: Tensor, ty: Tensor, sy?: Tensor): Tensor {
  const on = { device: sx.device };
  const zero = zeros(sx.shape, on);
  return F.stack([F.stack([sx, zero, tx], 1), F.stack([zero, sy ?? ones(sx.shape, on), ty], 1)], 1);
}

/** 1 per sample, or -1 where `flipped`. */
function flipSigns(flipped: Tensor): Tensor {
  return flipped.float().mul(-2).add(1);
}

function authorsTransform(x: Tensor, o: AuthorsAugment, r: Tensor, size: number[]): Tensor {
  const [n, c, h, w] = size as [number, number, number, number];
  if (!Number.isInteger(o.shift) || o.shift < 0 || o.shift >= Math.min(h, w))
    throw new RangeError(`augmentation shift must be an integer in [0, ${Math.min(h, w) - 1}], got ${o.shift}`);
  if (o.fill.length !== c) throw new RangeError(`augmentation fill has ${o.fill.length} values for ${c} channels`);
  const on = { device: x.device };
  // RandomTransform's delta, per axis: its images are square; on others each axis still shifts by <= shift/2 px.
  // shift/(side-1) rounded to float32 once; torch.linspace(0, 1, side)[shift] is an ulp off it on some sides.
  const shiftOf = (u: Tensor, side: number) =>
    u
      .sub(0.5)
      .mul(2)
      .mul(Math.fround(o.shift / (side - 1)));
  const tx = shiftOf(r.select(1, 0), w);
  const ty = shiftOf(r.select(1, 1), h);
  // RandomTransform negates the shifted x coordinate on a flip: x' = -(x + tx), so theta's row is [-1, 0, -tx].
  const sx = o.flip ? flipSigns(r.select(1, 2).gt(0.5)) : ones([n], on);
  const grid = F.affineGrid(affine(sx, sx.mul(tx), ty), size, true);
  // grid_sample's zero padding of (x - fill), plus fill again: the padding of normalised images, exactly,
  // because sampling is linear in the image and per channel.
  const fill = tensor(Float32Array.from(o.fill), [1, c, 1, 1], on);
  return F.gridSample(x.sub(fill), grid, { mode: "bilinear", padding: "zeros", alignCorners: true }).add(fill);
}

function quarterTransform(x: Tensor, o: QuarterAugment, r: Tensor, size: number[]): Tensor {
  const n = size[0]!;
  // t in [-2*maxShift, 2*maxShift] grid units (the side spans 2 with align_corners=False).
  const sx = o.flip ? flipSigns(r.select(1, 0).lt(0.5)) : ones([n], { device: x.device });
  const shift = r
    .slice(1, 1, 3)
    .mul(2)
    .sub(1)
    .mul(2 * o.maxShift);
  const grid = F.affineGrid(affine(sx, shift.select(1, 0), shift.select(1, 1)), size, false);
  return F.gridSample(x, grid, { mode: "bilinear", padding: "zeros", alignCorners: false });
}
