// Photos in and out through sharp (libvips, shipped inside its npm packages): decoding with the EXIF orientation
// applied (the pixels as a viewer shows them), encoding in the photo's own format, and the plain resize a
// training or evaluation pipeline applies. PNG and WebP are written losslessly; JPEG at a chosen quality with
// full-resolution chroma (4:4:4), as chroma subsampling would halve the perturbation's colour resolution.
import { extname } from "node:path";
import sharp from "sharp";
import { MAX_IMAGE_PIXELS } from "../data/image.js";

export type PhotoFormat = "png" | "jpeg" | "webp";

export interface DecodedPhoto {
  readonly width: number;
  readonly height: number;
  /** height*width*3 bytes, RGB (a grey photo comes back as three equal channels). */
  readonly rgb: Uint8Array;
  /** height*width bytes when the photo has transparency: kept as it is and written back. */
  readonly alpha?: Uint8Array;
  readonly format: PhotoFormat;
}

/** The format a path's extension names (the protected copy keeps it). */
export function formatOfPath(path: string): PhotoFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".png") return "png";
  if (ext === ".jpg" || ext === ".jpeg") return "jpeg";
  if (ext === ".webp") return "webp";
  throw new Error(`${path}: not a PNG, JPEG or WebP file name`);
}

const open = (bytes: Uint8Array) => sharp(bytes, { failOn: "error", limitInputPixels: MAX_IMAGE_PIXELS });
const decoder = (bytes: Uint8Array) => open(bytes).rotate(); // rotate(): EXIF orientation

/** A Buffer's bytes as a plain Uint8Array, without copying them. */
const view = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** An error naming `path` from libvips' complaint, which it repeats over several lines: the first says it. */
const cannotDecode = (path: string, e: unknown) =>
  new Error(`${path}: cannot decode the photo (${(e as Error).message.split("\n")[0]})`);

export interface PhotoHeader {
  format: PhotoFormat;
  /** width * height */
  pixels: number;
  hasAlpha: boolean;
}

/** A photo's format and size from its header, without decoding it; an error names `path`. */
export async function probePhoto(bytes: Uint8Array, path: string): Promise<PhotoHeader> {
  try {
    const meta = await open(bytes).metadata();
    const format = meta.format === "jpeg" || meta.format === "png" || meta.format === "webp" ? meta.format : undefined;
    if (!format) throw new Error(`format '${meta.format}' is not PNG, JPEG or WebP`);
    if (!meta.width || !meta.height) throw new Error("no size in its header");
    // libvips checks its pixel limit only when decoding: the same limit here, before any memory is taken.
    if (meta.width * meta.height > MAX_IMAGE_PIXELS)
      throw new Error(`${meta.width}x${meta.height} is above the ${MAX_IMAGE_PIXELS}-pixel limit`);
    return { format, pixels: meta.width * meta.height, hasAlpha: meta.hasAlpha === true };
  } catch (e) {
    throw cannotDecode(path, e);
  }
}

/** Decodes a photo (up to MAX_IMAGE_PIXELS); a corrupt or truncated file is an error that names `path`. */
export async function decodePhoto(bytes: Uint8Array, path: string): Promise<DecodedPhoto> {
  const { format, hasAlpha } = await probePhoto(bytes, path);
  try {
    const rgb = await decoder(bytes).toColourspace("srgb").removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (rgb.info.channels !== 3) throw new Error(`decoded to ${rgb.info.channels} channels, not RGB`);
    const out = { width: rgb.info.width, height: rgb.info.height, rgb: view(rgb.data), format };
    if (!hasAlpha) return out;
    return { ...out, alpha: view(await decoder(bytes).extractChannel("alpha").raw().toBuffer()) };
  } catch (e) {
    throw cannotDecode(path, e);
  }
}

export interface EncodeOptions {
  /** JPEG quality, 1..100. */
  jpegQuality: number;
}

/** Encodes RGB pixels (and the photo's alpha) in `format`: PNG and WebP losslessly, JPEG at its quality, 4:4:4. */
export async function encodePhoto(
  rgb: Uint8Array,
  width: number,
  height: number,
  format: PhotoFormat,
  o: EncodeOptions & { alpha?: Uint8Array | undefined },
): Promise<Uint8Array> {
  let pixels = rgb;
  let channels: 3 | 4 = 3;
  if (o.alpha && format !== "jpeg") {
    pixels = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      pixels[4 * i] = rgb[3 * i]!;
      pixels[4 * i + 1] = rgb[3 * i + 1]!;
      pixels[4 * i + 2] = rgb[3 * i + 2]!;
      pixels[4 * i + 3] = o.alpha[i]!;
    }
    channels = 4;
  }
  const img = sharp(pixels, { raw: { width, height, channels } });
  const encoded =
    format === "png"
      ? img.png({ compressionLevel: 6 })
      : format === "webp"
        ? img.webp({ lossless: true })
        : img.jpeg({ quality: o.jpegQuality, chromaSubsampling: "4:4:4" });
  return view(await encoded.toBuffer());
}

/**
 * What a standard ImageNet evaluation pipeline feeds a model: the shorter side resized to side*256/224
 * (libvips' default Lanczos kernel, antialiased), then the centre side x side crop; RGB, side*side*3 bytes.
 */
export async function evalResize(rgb: Uint8Array, width: number, height: number, side: number): Promise<Uint8Array> {
  const shorter = Math.round((side * 256) / 224);
  const scale = shorter / Math.min(width, height);
  const w = Math.max(side, Math.round(width * scale));
  const h = Math.max(side, Math.round(height * scale));
  const resized = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(w, h, { fit: "fill" })
    .raw()
    .toBuffer();
  const left = Math.floor((w - side) / 2);
  const top = Math.floor((h - side) / 2);
  const crop = await sharp(resized, { raw: { width: w, height: h, channels: 3 } })
    .extract({ left, top, width: side, height: side })
    .raw()
    .toBuffer();
  return view(crop);
}
