// Writes generated photos for protect measurements: a coloured disc (its colour is the class) on a textured
// colour field, mixed sizes from 97x131 to 1200x800 (or one fixed SIZE), PNG and JPEG alternating.
// Usage: node make-photo-tree.mjs DIR COUNT [SEED] [CLASSES] [WxH]
//   CLASSES 0 (default): a flat, unlabeled folder of photos of random classes; CLASSES n: DIR/class-K/..., n classes.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";

const [dir, count = "24", seedText = "0", classesText = "0", sizeText] = process.argv.slice(2);
if (!dir) throw new Error("usage: make-photo-tree.mjs DIR COUNT [SEED] [CLASSES] [WxH]");
const SIZES = sizeText
  ? [sizeText.split("x").map(Number)]
  : [
      [97, 131],
      [1200, 800],
      [640, 480],
      [300, 200],
      [480, 640],
      [224, 224],
      [800, 533],
      [131, 97],
    ];
const PALETTE = [
  [230, 40, 40],
  [40, 200, 60],
  [40, 80, 230],
  [240, 220, 40],
  [200, 40, 200],
  [40, 210, 210],
  [250, 140, 30],
  [120, 60, 20],
  [250, 250, 250],
  [20, 20, 20],
];
const classes = Number(classesText);
const seed = Number(seedText);
// A small deterministic generator (mulberry32), so a tree is the same on every machine.
let state = (seed * 2654435761) >>> 0;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
for (let k = 0; k < Number(count); k++) {
  const [w, h] = SIZES[k % SIZES.length];
  const c = classes > 0 ? k % classes : Math.floor(random() * PALETTE.length);
  const disc = PALETTE[c % PALETTE.length];
  const [cx, cy, r] = [0.25 + 0.5 * random(), 0.25 + 0.5 * random(), 0.15 + 0.15 * random()];
  const [b0, b1, b2] = [random() * 160, random() * 160, random() * 160];
  const px = Buffer.alloc(w * h * 3);
  const side = Math.min(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 3 * (y * w + x);
      const inside = ((x - cx * w) / side) ** 2 + ((y - cy * h) / side) ** 2 < r * r;
      const t = ((x * 7 + y * 13 + k * 31) % 23) * 2;
      px[i] = inside ? disc[0] : Math.min(255, b0 + Math.floor((x * 60) / w) + t);
      px[i + 1] = inside ? disc[1] : Math.min(255, b1 + Math.floor((y * 60) / h) + t);
      px[i + 2] = inside ? disc[2] : Math.min(255, b2 + t);
    }
  }
  const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  const jpeg = k % 2 === 1;
  const folder = classes > 0 ? join(dir, `class-${c}`) : dir;
  mkdirSync(folder, { recursive: true });
  const name = `photo-${String(k).padStart(4, "0")}.${jpeg ? "jpg" : "png"}`;
  writeFileSync(join(folder, name), await (jpeg ? img.jpeg({ quality: 92 }) : img.png()).toBuffer());
}
