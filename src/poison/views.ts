// Defence views: expectation over transformations (Athalye et al. 2018) for the defences a determined trainer
// applies, so that a poison is crafted to survive them rather than only the victim's crop and flip. At every
// PGD step each image of the batch passes, with probability `share`, through one of the views (drawn uniformly),
// after the differentiable augmentation; the rest are seen as they are. Each view is differentiable:
// - bdr:BITS: bit-depth reduction (ISS's posterize) made smooth: a staircase of sigmoids at the thresholds
//   64, 128 and 192 (2 bits), TEMPERATURE grey levels wide. Posterizing keeps only which side of a threshold a
//   pixel is on, so its gradient is zero away from them and the attack learns to spend its budget where a pixel
//   can be pushed across one: there a change of eps becomes a change of a whole level.
// - lowpass:K: JPEG's loss of detail, as the projection of every 8x8 block onto its K x K lowest DCT frequencies
//   (JPEG at low quality keeps little more). Linear, so its gradient is itself.
// - noise:SIGMA: Gaussian noise of SIGMA grey levels, as the audit's noise defence.
// - cutout:FRACTION: a square of zeros, FRACTION of the side, as the audit's cutout defence.
// - crop:SCALE and jitter:STRENGTH: the contrastive-strength augmentations of AAP (Wang, Zhu, Gu, "Efficient
//   availability attacks against supervised and contrastive learning simultaneously", NeurIPS 2024), who craft
//   adversarial poisons through SimCLR's views so that they hold for victims that train with strong views:
//   a random resized crop (area in [SCALE, 1], aspect ratio in [3/4, 4/3], resized back with bilinear sampling,
//   as torchvision's RandomResizedCrop) and brightness and contrast jitter by factors in [1 - S, 1 + S] (their
//   ColorJitter's first two; hue and saturation do nothing to grey images).
import { arange, F, keep, rand, randn, scope, type Tensor, tensor } from "../torch/index.js";
import { affine } from "./diff-augment.js";

export const VIEW_KINDS = ["bdr", "lowpass", "noise", "cutout", "crop", "jitter"] as const;
export type ViewKind = (typeof VIEW_KINDS)[number];

export interface DefenceView {
  kind: ViewKind;
  /** bits, K, sigma (grey levels), fraction, smallest crop area or jitter strength. */
  value: number;
}

/** Each kind's default value and the range it must lie in. */
const VIEW_VALUES: Record<ViewKind, { default: number; min: number; max: number; integer: boolean }> = {
  bdr: { default: 2, min: 1, max: 7, integer: true },
  lowpass: { default: 3, min: 1, max: 7, integer: true },
  noise: { default: 8, min: 0, max: 255, integer: false },
  cutout: { default: 0.5, min: 0, max: 1, integer: false },
  // MoCo v2's and AAP's crop of 32x32 images keeps 0.2 to 1 of the area; their jitter strength is 0.4.
  crop: { default: 0.2, min: 0.01, max: 1, integer: false },
  jitter: { default: 0.4, min: 0, max: 1, integer: false },
};

/** Largest aspect ratio of the crop view (and 1/RATIO the smallest), as RandomResizedCrop's default. */
const RATIO = 4 / 3;

/** Width of a smooth threshold of the bit-depth view, in grey levels. */
const TEMPERATURE = 2;
const BLOCK = 8;

/** "bdr:2,lowpass:3" as views; a kind alone takes its default value. Empty text: no views. */
export function parseViews(text: string): DefenceView[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((item) => {
      const [kind, value, ...rest] = item.split(":");
      if (!VIEW_KINDS.includes(kind as ViewKind) || rest.length > 0)
        throw new RangeError(`unknown defence view '${item}' (${VIEW_KINDS.map((k) => `${k}[:VALUE]`).join(", ")})`);
      const r = VIEW_VALUES[kind as ViewKind];
      const v = value === undefined ? r.default : Number(value);
      if (!(Number.isFinite(v) && v >= r.min && v <= r.max && (!r.integer || Number.isInteger(v))))
        throw new RangeError(
          `defence view ${kind}: value must be ${r.integer ? "an integer " : ""}in [${r.min}, ${r.max}], got '${value}'`,
        );
      return { kind: kind as ViewKind, value: v };
    });
}

/** Smooth posterize to `bits`: levels 0, s, 2s, ... (s = 2^(8 - bits) / 255), a sigmoid at each threshold. */
export function softPosterize(x: Tensor, bits: number): Tensor {
  const step = 2 ** (8 - bits);
  return scope(() => {
    let out: Tensor | undefined;
    for (let k = 1; k < 2 ** bits; k++) {
      const s = x
        .sub((k * step) / 255)
        .mul(255 / TEMPERATURE)
        .sigmoid();
      out = out ? out.add(s) : s;
    }
    return out!.mul(step / 255);
  });
}

/** The 8x8 projection onto the K lowest DCT-II frequencies: P = D^T diag(1..1, 0..0) D (orthonormal D). */
function lowpassMatrix(k: number): Float32Array {
  const n = BLOCK;
  const p = new Float32Array(n * n);
  for (let f = 0; f < k; f++) {
    const scale = Math.sqrt((f === 0 ? 1 : 2) / n);
    const basis = Array.from({ length: n }, (_, i) => scale * Math.cos(((2 * i + 1) * f * Math.PI) / (2 * n)));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) p[i * n + j]! += basis[i]! * basis[j]!;
  }
  return p;
}

/** The projection onto K x K of lowpass(), as a [8, 8] tensor on `device`. */
const lowpassTensor = (k: number, device: string): Tensor => tensor(lowpassMatrix(k), [BLOCK, BLOCK], { device });

/**
 * Every 8x8 block (edges padded by repeating the last row and column, as JPEG pads) projected on K x K. `p`: the
 * projection already on x's device (the attack makes it once per batch, not once per step).
 */
export function lowpass(x: Tensor, k: number, p?: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const hb = Math.ceil(h / BLOCK);
  const wb = Math.ceil(w / BLOCK);
  return scope(() => {
    const projection = p ?? lowpassTensor(k, x.device);
    const padded = F.pad(x, [0, wb * BLOCK - w, 0, hb * BLOCK - h], "replicate");
    const blocks = padded.reshape(n, c, hb, BLOCK, wb, BLOCK).permute(0, 1, 2, 4, 3, 5);
    // P is symmetric: P X P filters the rows and the columns of each block.
    const filtered = projection.matmul(blocks).matmul(projection);
    return filtered
      .permute(0, 1, 2, 4, 3, 5)
      .reshape(n, c, hb * BLOCK, wb * BLOCK)
      .slice(2, 0, h)
      .slice(3, 0, w);
  });
}

/** A zero square of `fraction` of the shorter side per image, centred uniformly (clipped at the borders). */
function cutoutView(x: Tensor, fraction: number): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  const half = Math.max(1, Math.round(fraction * Math.min(h, w))) / 2;
  return scope(() => {
    const on = { device: x.device };
    const centre = rand([n, 2], on);
    const inside = (size: number, dim: number, col: number) => {
      // Pixel centres, made on the device: no copy from the host at every step.
      const idx = arange(0, size, 1, { ...on, dtype: "float32" })
        .add(0.5)
        .reshape(...(dim === 2 ? [1, 1, size, 1] : [1, 1, 1, size]));
      const mid = centre.select(1, col).mul(size).reshape(n, 1, 1, 1);
      return idx.sub(mid).abs().lt(half).float();
    };
    const kept = inside(h, 2, 0)
      .mul(inside(w, 3, 1))
      .neg()
      .add(1);
    return x.mul(kept);
  });
}

/** A random resized crop per image: area in [minScale, 1] of the image, inside it, sampled back to full size. */
function cropView(x: Tensor, minScale: number): Tensor {
  const n = x.shape[0]!;
  return scope(() => {
    const on = { device: x.device };
    const r = rand([n, 4], on);
    const area = r
      .select(1, 0)
      .mul(1 - minScale)
      .add(minScale);
    const ratio = r.select(1, 1).mul(2).sub(1).mul(Math.log(RATIO)).exp();
    // Half-widths of the crop in grid units (the side spans [-1, 1]); capped at the whole side.
    const sx = area.mul(ratio).sqrt().clamp(undefined, 1);
    const sy = area.div(ratio).sqrt().clamp(undefined, 1);
    const centre = (u: Tensor, half: Tensor) => u.mul(2).sub(1).mul(half.neg().add(1));
    const tx = centre(r.select(1, 2), sx);
    const ty = centre(r.select(1, 3), sy);
    const grid = F.affineGrid(affine(sx, tx, ty, sy), x.shape, false);
    return F.gridSample(x, grid, { mode: "bilinear", padding: "border", alignCorners: false });
  });
}

/** Brightness, then contrast (about each image's mean), each by a factor in [1 - s, 1 + s]; kept in [0, 1]. */
function jitterView(x: Tensor, strength: number): Tensor {
  const n = x.shape[0]!;
  return scope(() => {
    const on = { device: x.device };
    const factor = () =>
      rand([n, 1, 1, 1], on)
        .mul(2 * strength)
        .add(1 - strength);
    const bright = x.mul(factor());
    const mean = bright.mean([1, 2, 3], true);
    return bright.sub(mean).mul(factor()).add(mean).clamp(0, 1);
  });
}

function applyView(x: Tensor, v: DefenceView, projections: ReadonlyMap<number, Tensor>): Tensor {
  switch (v.kind) {
    case "bdr":
      return softPosterize(x, v.value);
    case "lowpass":
      return lowpass(x, v.value, projections.get(v.value));
    case "noise":
      return randn(x.shape, { device: x.device })
        .mul_(v.value / 255)
        .add_(x);
    case "cutout":
      return cutoutView(x, v.value);
    case "crop":
      return cropView(x, v.value);
    case "jitter":
      return jitterView(x, v.value);
  }
}

/** The views of an attack on `device`, with their constant tensors made once; dispose() frees those. */
export interface PreparedViews {
  /** `applyViews` of these views on x. */
  apply(x: Tensor): Tensor;
  dispose(): void;
}

export function prepareViews(views: readonly DefenceView[], share: number, device: string): PreparedViews {
  const projections = new Map<number, Tensor>();
  for (const v of views)
    if (v.kind === "lowpass" && !projections.has(v.value))
      projections.set(v.value, keep(lowpassTensor(v.value, device)));
  return {
    apply: (x) => applyViews(x, views, share, projections),
    dispose: () => {
      for (const p of projections.values()) p.dispose();
    },
  };
}

/**
 * x [N,C,H,W] with each image, with probability `share`, replaced by one of `views` (uniformly); the draws come
 * from libtorch's generator, seeded per chunk like the augmentation's. `projections`: lowpass's, by K, when
 * prepared (prepareViews).
 */
export function applyViews(
  x: Tensor,
  views: readonly DefenceView[],
  share: number,
  projections: ReadonlyMap<number, Tensor> = new Map(),
): Tensor {
  if (views.length === 0 || share === 0) return x;
  const n = x.shape[0]!;
  return scope(() => {
    const r = rand([n], { device: x.device }).reshape(n, 1, 1, 1);
    let out = x;
    views.forEach((v, j) => {
      const lo = (share * j) / views.length;
      const hi = (share * (j + 1)) / views.length;
      const chosen = r
        .gt(lo - 1e-12)
        .float()
        .mul(r.lt(hi).float());
      out = out.add(applyView(x, v, projections).sub(x).mul(chosen));
    });
    return out;
  });
}
