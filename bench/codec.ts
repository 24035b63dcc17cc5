// Codec benchmark: decode + resize (shorter side 256, centre crop 224, as an ImageNet folder dataset reads a photo)
// of generated photos, through today's pure-JS path (pngjs / jpeg-js + src/data/resize.ts, PIL-style antialiased
// bilinear) and through sharp (libvips), in alternating rounds on the same files. One JSON line per format:
// photos/s of each and the speedup. BENCH_PHOTOS (default 24) photos per format, BENCH_ROUNDS (3) rounds.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { decodeImage } from "../src/data/image.js";
import { centerCrop, resizeShorterSide, shorterSideSize } from "../src/data/resize.js";
import { median, printCase } from "./timing.js";

const PHOTOS = Number(process.env.BENCH_PHOTOS ?? 24);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const [W, H] = [1200, 800];

function photo(seed: number): Buffer {
  const px = Buffer.alloc(W * H * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7 + seed * 13 + ((i / 3601) | 0)) % 256;
  return px;
}

function pureJs(bytes: Uint8Array): Uint8Array {
  const d = decodeImage(bytes, "bench");
  const image = { pixels: d.rgb, height: d.height, width: d.width, channels: 3 };
  return centerCrop(resizeShorterSide(image, 256), 224)!.pixels;
}

async function withSharp(bytes: Uint8Array): Promise<Uint8Array> {
  const img = sharp(bytes).rotate();
  const [h, w] = shorterSideSize(H, W, 256);
  const { data } = await img
    .resize(w, h, { fit: "fill", kernel: "linear" })
    .extract({ left: Math.round((w - 224) / 2), top: Math.round((h - 224) / 2), width: 224, height: 224 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data);
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "advpoison-codec-"));
  try {
    for (const format of ["jpeg", "png"] as const) {
      const files: string[] = [];
      for (let k = 0; k < PHOTOS; k++) {
        const img = sharp(photo(k), { raw: { width: W, height: H, channels: 3 } });
        const path = join(dir, `${k}.${format}`);
        writeFileSync(path, await (format === "jpeg" ? img.jpeg({ quality: 90 }) : img.png()).toBuffer());
        files.push(path);
      }
      const js: number[] = [];
      const vips: number[] = [];
      for (let r = 0; r < ROUNDS + 1; r++) {
        let t0 = performance.now();
        for (const f of files) pureJs(new Uint8Array(readFileSync(f)));
        const a = (performance.now() - t0) / 1000;
        t0 = performance.now();
        for (const f of files) await withSharp(new Uint8Array(readFileSync(f)));
        const b = (performance.now() - t0) / 1000;
        if (r > 0) {
          js.push(a); // round 0 warms both up
          vips.push(b);
        }
      }
      const [a, b] = [median(js), median(vips)];
      printCase({
        case: `codec.decode-resize.${format}`,
        photo: `${W}x${H}`,
        photos: PHOTOS,
        purejs_photos_per_s: +(PHOTOS / a).toFixed(2),
        sharp_photos_per_s: +(PHOTOS / b).toFixed(2),
        speedup: +(a / b).toFixed(2),
        sharp_threads: sharp.concurrency(),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
