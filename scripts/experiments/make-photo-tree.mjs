// Writes generated photos for protect measurements: a faint grating whose orientation is the class (10
// orientations 18 degrees apart, 6 cycles across the shorter side, +-24 grey levels) over a colour field with a
// disc of a random colour, mixed sizes from 97x131 to 1200x800 (or one fixed SIZE), PNG and JPEG alternating.
// The class is a low-contrast texture, as the cues of real photos' classifiers often are, not a robust blob.
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
  const disc = PALETTE[Math.floor(random() * PALETTE.length)];
  const angle = (c * Math.PI) / 10;
  const phase = 2 * Math.PI * random();
  const [cx, cy, r] = [0.25 + 0.5 * random(), 0.25 + 0.5 * random(), 0.15 + 0.15 * random()];
  const [b0, b1, b2] = [random() * 160, random() * 160, random() * 160];
  const px = Buffer.alloc(w * h * 3);
  const side = Math.min(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 3 * (y * w + x);
      const inside = ((x - cx * w) / side) ** 2 + ((y - cy * h) / side) ** 2 < r * r;
      const u = ((x * Math.cos(angle) + y * Math.sin(angle)) / side) * 6 * 2 * Math.PI + phase;
      const t = 24 * Math.sin(u) + 40;
      const clip = (v) => Math.max(0, Math.min(255, Math.round(v)));
      px[i] = clip((inside ? disc[0] * 0.7 : b0 + (x * 60) / w) + t);
      px[i + 1] = clip((inside ? disc[1] * 0.7 : b1 + (y * 60) / h) + t);
      px[i + 2] = clip((inside ? disc[2] * 0.7 : b2) + t);
    }
  }
  const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  const jpeg = k % 2 === 1;
  const folder = classes > 0 ? join(dir, `class-${c}`) : dir;
  mkdirSync(folder, { recursive: true });
  const name = `photo-${String(k).padStart(4, "0")}.${jpeg ? "jpg" : "png"}`;
  writeFileSync(join(folder, name), await (jpeg ? img.jpeg({ quality: 92 }) : img.png()).toBuffer());
}
