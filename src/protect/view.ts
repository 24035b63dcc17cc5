// How a training pipeline sees a photo, made differentiable so the perturbation can be crafted at the photo's
// own resolution and still work after the pipeline shrinks it: a random resized crop (torchvision's
// RandomResizedCrop idea: a region of random area and aspect) and a horizontal flip, resampled to the model's
// input side. Resampling is antialiased like PIL's and libvips' resizers: a box filter (average pooling by the
// integer part of the shrink factor) spreads every output pixel's gradient over all the photo pixels it
// covers, then bilinear sampling (affine_grid + grid_sample) does the crop, the flip and the fractional rest.
// Without the box filter a 5x shrink would sample 1 photo pixel in 25 and the perturbation would average away.
import { F, type Tensor, tensor } from "../torch/index.js";

/** A crop of the photo in its own pixels, resampled to the model's input. */
export interface Crop {
  left: number;
  top: number;
  width: number;
  height: number;
  flip: boolean;
}

/** The crops' area fraction and aspect range: torchvision's RandomResizedCrop ratio, a milder scale floor. */
export const CROP_SCALE: readonly [number, number] = [0.25, 1];
export const CROP_RATIO: readonly [number, number] = [3 / 4, 4 / 3];

/**
 * A random crop of a width x height photo from four uniform [0, 1) draws (area, aspect, position x, y) and a
 * fifth for the flip; the crop always lies inside the photo.
 */
export function randomCrop(width: number, height: number, u: readonly number[]): Crop {
  const area = width * height * (CROP_SCALE[0] + (CROP_SCALE[1] - CROP_SCALE[0]) * u[0]!);
  const logRatio = Math.log(CROP_RATIO[0]) + (Math.log(CROP_RATIO[1]) - Math.log(CROP_RATIO[0])) * u[1]!;
  const ratio = Math.exp(logRatio);
  const w = Math.min(width, Math.sqrt(area * ratio));
  const h = Math.min(height, Math.sqrt(area / ratio));
  return { left: (width - w) * u[2]!, top: (height - h) * u[3]!, width: w, height: h, flip: u[4]! < 0.5 };
}

/** The evaluation pipeline's view (Resize(256) + CenterCrop(224) at any input side): the centre square of 224/256 of the shorter side. */
export function centreCrop(width: number, height: number): Crop {
  const s = Math.min(width, height) * (224 / 256);
  const w = Math.min(width, s);
  const h = Math.min(height, s);
  return { left: (width - w) / 2, top: (height - h) / 2, width: w, height: h, flip: false };
}

/**
 * `crop` of x [1, C, H, W] resampled to [1, C, side, side], differentiably (box filter, then bilinear).
 */
export function cropView(x: Tensor, crop: Crop, side: number): Tensor {
  const [, , H, W] = x.shape as [number, number, number, number];
  const k = Math.max(1, Math.floor(Math.min(crop.width, crop.height) / side));
  const pooled = k > 1 ? F.avgPool2d(x, k, { ceilMode: true, countIncludePad: false }) : x;
  // Normalised coordinates (align_corners = false: -1 and 1 are the outer edges of the border pixels), which
  // pooling keeps: the crop's edges map to the same places in the pooled photo.
  const sx = crop.width / W;
  const sy = crop.height / H;
  const cx = (2 * crop.left + crop.width) / W - 1;
  const cy = (2 * crop.top + crop.height) / H - 1;
  const theta = tensor([crop.flip ? -sx : sx, 0, cx, 0, sy, cy], [1, 2, 3], { device: x.device });
  const grid = F.affineGrid(theta, [1, x.size(1), side, side], false);
  return F.gridSample(pooled, grid, { mode: "bilinear", padding: "border", alignCorners: false });
}

/** The views of x [1, C, H, W] for `crops`, as one batch [crops.length, C, side, side]. */
export function views(x: Tensor, crops: readonly Crop[], side: number): Tensor {
  return F.cat(
    crops.map((c) => cropView(x, c, side)),
    0,
  );
}
