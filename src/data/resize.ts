// ImageNet-style geometry for folders of differently sized images: resize so the shorter side has a given
// length, then center-crop, as torchvision's Resize(size) + CenterCrop(crop) do.
//
// Resampling is done here in JS rather than with libtorch's interpolate, so reading a dataset needs no
// tensors: it is PIL's BILINEAR filter (a triangle kernel widened by the downscale factor, i.e. antialiased,
// as torchvision's Resize(antialias=True)), separable, with a float intermediate and one final rounding.
// PIL rounds between its two passes, so results may differ from PIL by one gray level.

export interface HwcImage {
  readonly pixels: Uint8Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** The size torchvision's Resize(size) gives: shorter side `size`, longer side scaled and floored. */
export function shorterSideSize(height: number, width: number, size: number): [number, number] {
  if (height <= width) return [size, Math.floor((size * width) / height)];
  return [Math.floor((size * height) / width), size];
}

export function resizeShorterSide(image: HwcImage, size: number): HwcImage {
  const [height, width] = shorterSideSize(image.height, image.width, size);
  return resizeBilinear(image, height, width);
}

/** PIL-style antialiased bilinear resampling to `height` x `width`. */
export function resizeBilinear(image: HwcImage, height: number, width: number): HwcImage {
  if (height === image.height && width === image.width) return image;
  const { channels } = image;
  const horizontal = new Float32Array(image.height * width * channels);
  const cols = filterTaps(image.width, width);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < width; x++) {
      const { start, weights } = cols[x]!;
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++)
          sum += weights[k]! * image.pixels[(y * image.width + start + k) * channels + c]!;
        horizontal[(y * width + x) * channels + c] = sum;
      }
    }
  }
  const out = new Uint8Array(height * width * channels);
  const rows = filterTaps(image.height, height);
  for (let y = 0; y < height; y++) {
    const { start, weights } = rows[y]!;
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++)
          sum += weights[k]! * horizontal[((start + k) * width + x) * channels + c]!;
        out[(y * width + x) * channels + c] = Math.min(255, Math.max(0, Math.round(sum)));
      }
    }
  }
  return { pixels: out, height, width, channels };
}

/** For each output position, the first input index and the normalised weights of the inputs it reads. */
function filterTaps(inSize: number, outSize: number): { start: number; weights: Float64Array }[] {
  const scale = inSize / outSize;
  const widen = Math.max(scale, 1);
  return Array.from({ length: outSize }, (_, i) => {
    const center = (i + 0.5) * scale;
    const start = Math.max(0, Math.floor(center - widen + 0.5));
    const end = Math.min(inSize, Math.floor(center + widen + 0.5));
    const weights = new Float64Array(end - start);
    let total = 0;
    for (let j = start; j < end; j++) {
      const w = Math.max(0, 1 - Math.abs((j - center + 0.5) / widen));
      weights[j - start] = w;
      total += w;
    }
    for (let k = 0; k < weights.length; k++) weights[k]! /= total;
    return { start, weights };
  });
}

/** The centered `size` x `size` window, placed as torchvision's CenterCrop places it; undefined if too small. */
export function centerCrop(image: HwcImage, size: number): HwcImage | undefined {
  if (image.height < size || image.width < size) return undefined;
  if (image.height === size && image.width === size) return image;
  const top = roundHalfEven((image.height - size) / 2);
  const left = roundHalfEven((image.width - size) / 2);
  const { channels } = image;
  const out = new Uint8Array(size * size * channels);
  const rowBytes = size * channels;
  for (let y = 0; y < size; y++) {
    const from = ((top + y) * image.width + left) * channels;
    out.set(image.pixels.subarray(from, from + rowBytes), y * rowBytes);
  }
  return { pixels: out, height: size, width: size, channels };
}

/** Python 3's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
