// Single-image codecs over the pure-JS pngjs and jpeg-js: decoding to 8-bit RGB plus whether the file is
// grayscale, and lossless PNG encoding of 1- or 3-channel images.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { DatasetError } from "./errors.js";

export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** Whether the file stores a single gray channel (PNG color types 0/4, one-component JPEG). */
  readonly grayscale: boolean;
  /** height*width*3 bytes, RGB; alpha is dropped, as PIL's convert("RGB") does. */
  readonly rgb: Uint8Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

const startsWith = (bytes: Uint8Array, magic: readonly number[]) => magic.every((b, i) => bytes[i] === b);

/**
 * The most pixels an image may have, PIL's Image.MAX_IMAGE_PIXELS (~0.25 GB of 24-bit pixels): larger
 * headers are rejected before the decoders allocate anything, as a decompression bomb would be.
 */
export const MAX_IMAGE_PIXELS = 89_478_485;

export interface ImageHeader {
  readonly width: number;
  readonly height: number;
  /** As DecodedImage.grayscale: PNG color types 0 and 4, one-component JPEG. */
  readonly grayscale: boolean;
  /** The file's size in bytes when its header was read. */
  readonly fileSize: number;
}

/**
 * The size and colour kind of a PNG or JPEG file, from its header alone (a PNG's first 26 bytes; a JPEG's
 * segments up to its start-of-frame, read a few KiB at a time): what decodeImage would decode it to, without
 * decoding. Rejects what decodeImage rejects by its header (not PNG/JPEG, too many pixels, a JPEG of other
 * than 1 or 3 components); a file damaged after its header is only found when decoded.
 */
export function readImageHeader(path: string): ImageHeader {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new DatasetError(`cannot read file: ${(e as Error).message}`, path);
  }
  try {
    const fileSize = fstatSync(fd).size;
    let head = readAt(fd, Math.min(fileSize, 4096));
    const header = (width: number, height: number, grayscale: boolean): ImageHeader => {
      if (width * height > MAX_IMAGE_PIXELS) {
        throw new DatasetError(
          `image header claims ${width}x${height} = ${width * height} pixels, more than the ` +
            `${MAX_IMAGE_PIXELS}-pixel limit (PIL's MAX_IMAGE_PIXELS)`,
          path,
        );
      }
      return { width, height, grayscale, fileSize };
    };
    if (startsWith(head, PNG_MAGIC)) {
      const ihdr = head.length >= 26 && String.fromCharCode(...head.subarray(12, 16)) === "IHDR";
      if (!ihdr) throw new DatasetError("unreadable image: PNG without an IHDR header", path);
      const size = pngSize(head)!;
      // pngjs's `color`: the colour bit (2) of the IHDR colour type.
      return header(size.width, size.height, (head[25]! & 2) === 0);
    }
    if (startsWith(head, JPEG_MAGIC)) {
      let frame = jpegFrame(head);
      while (!frame && head.length < fileSize) {
        head = readAt(fd, Math.min(fileSize, head.length * 4));
        frame = jpegFrame(head);
      }
      if (!frame) throw new DatasetError("unreadable image: JPEG without a frame header", path);
      if (frame.components !== 1 && frame.components !== 3)
        throw new DatasetError(`unreadable image: JPEG with ${frame.components} color components`, path);
      return header(frame.width, frame.height, frame.components === 1);
    }
    throw new DatasetError("unreadable image: neither PNG nor JPEG data", path);
  } finally {
    closeSync(fd);
  }
}

/** The first `n` bytes of the open file `fd`. */
function readAt(fd: number, n: number): Uint8Array {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = readSync(fd, buf, got, n - got, got);
    if (r === 0) break;
    got += r;
  }
  return buf.subarray(0, got);
}

/** Decodes a PNG or JPEG (recognised by content, not name); `path` names the file in errors. */
export function decodeImage(bytes: Uint8Array, path: string): DecodedImage {
  const size = startsWith(bytes, PNG_MAGIC)
    ? pngSize(bytes)
    : startsWith(bytes, JPEG_MAGIC)
      ? jpegFrame(bytes)
      : undefined;
  if (size && size.width * size.height > MAX_IMAGE_PIXELS) {
    throw new DatasetError(
      `image header claims ${size.width}x${size.height} = ${size.width * size.height} pixels, more than the ` +
        `${MAX_IMAGE_PIXELS}-pixel limit (PIL's MAX_IMAGE_PIXELS)`,
      path,
    );
  }
  try {
    if (startsWith(bytes, PNG_MAGIC)) return decodePng(bytes);
    if (startsWith(bytes, JPEG_MAGIC)) return decodeJpeg(bytes);
  } catch (e) {
    throw new DatasetError(`unreadable image: ${(e as Error).message}`, path);
  }
  throw new DatasetError("unreadable image: neither PNG nor JPEG data", path);
}

function decodePng(bytes: Uint8Array): DecodedImage {
  // pngjs always yields 8-bit RGBA (16-bit samples are scaled down), whatever the stored color type.
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const pixels = png.width * png.height;
  const rgb = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    rgb[3 * p] = png.data[4 * p]!;
    rgb[3 * p + 1] = png.data[4 * p + 1]!;
    rgb[3 * p + 2] = png.data[4 * p + 2]!;
  }
  return { width: png.width, height: png.height, grayscale: !png.color, rgb };
}

/** Width and height from a PNG's IHDR chunk, which the format requires first. */
function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 24) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function decodeJpeg(bytes: Uint8Array): DecodedImage {
  const components = jpegFrame(bytes)?.components;
  if (components !== 1 && components !== 3) throw new Error(`JPEG with ${components ?? "no"} color components`);
  const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
  return { width: image.width, height: image.height, grayscale: components === 1, rgb: image.data };
}

/**
 * The JPEG's start-of-frame header: its size, and its component count (jpeg-js always outputs RGB, hiding
 * it).
 */
function jpegFrame(bytes: Uint8Array): { width: number; height: number; components: number } | undefined {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): length, precision, height, width, components.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return {
        height: (bytes[i + 5]! << 8) | bytes[i + 6]!,
        width: (bytes[i + 7]! << 8) | bytes[i + 8]!,
        components: bytes[i + 9]!,
      };
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    i += 2 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
  }
  return undefined;
}

/** A lossless PNG of an H,W,C image (C = 1 grayscale or 3 RGB), 8 bits per sample. */
export function encodePng(pixels: Uint8Array, height: number, width: number, channels: number): Uint8Array {
  const colorType = channels === 1 ? 0 : 2;
  // The sync writer reads only width, height and data of its first argument. A `new PNG()` there would set
  // up stream machinery that process.nextTick keeps alive until the event loop turns: in a synchronous loop
  // over many images (a streamed release) every image's buffers would stay resident until the loop ends.
  const image = { width, height, data: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength) };
  return PNG.sync.write(image as PNG, { colorType, inputColorType: colorType, inputHasAlpha: false, bitDepth: 8 });
}
