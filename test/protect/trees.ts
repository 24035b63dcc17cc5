// Photo trees for the protect tests, generated with sharp: smooth colour gradients with some texture (so JPEG
// has work to do), at mixed sizes, as PNG, JPEG and WebP, nested in class folders or flat.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import sharp from "sharp";

export interface PhotoSpec {
  rel: string;
  width: number;
  height: number;
  /** EXIF orientation tag to store (the pixels are then stored rotated, as a camera does). */
  orientation?: number;
}

function pixels(w: number, h: number, seed: number): Buffer {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 3 * (y * w + x);
      const t = ((x * 7 + y * 13 + seed * 31) % 17) * 3; // texture
      px[i] = Math.min(255, Math.floor((x * 200) / w) + t);
      px[i + 1] = Math.min(255, Math.floor((y * 200) / h) + ((seed * 40) % 50));
      px[i + 2] = (x + 2 * y + seed * 60) % 256;
    }
  }
  return px;
}

/** Writes each photo of `specs` under `root` in the format its extension names. */
export async function makeTree(root: string, specs: readonly PhotoSpec[]): Promise<void> {
  for (const [k, s] of specs.entries()) {
    const path = join(root, s.rel);
    mkdirSync(dirname(path), { recursive: true });
    let img = sharp(pixels(s.width, s.height, k), { raw: { width: s.width, height: s.height, channels: 3 } });
    if (s.orientation) img = img.withMetadata({ orientation: s.orientation });
    const ext = s.rel.split(".").pop();
    const out = ext === "png" ? img.png() : ext === "webp" ? img.webp({ quality: 90 }) : img.jpeg({ quality: 90 });
    writeFileSync(path, await out.toBuffer());
  }
}

/** A labelled tree (two class folders, nested), mixed sizes from 97x131 to 1200x800, every format, a corrupt JPEG. */
export const LABELLED: readonly PhotoSpec[] = [
  { rel: "cat/a.png", width: 97, height: 131 },
  { rel: "cat/b.jpg", width: 1200, height: 800 },
  { rel: "cat/deep/er/c.jpeg", width: 160, height: 120 },
  { rel: "cat/d.webp", width: 140, height: 100 },
  { rel: "dog/e.jpg", width: 120, height: 80, orientation: 6 },
  { rel: "dog/f.png", width: 300, height: 200 },
  { rel: "dog/sub/g.jpg", width: 64, height: 64 },
  { rel: "dog/h.png", width: 131, height: 97 },
];

export const CORRUPT = "dog/broken.jpg";

export function writeCorrupt(root: string): void {
  writeFileSync(join(root, CORRUPT), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70, 73, 70]));
}
