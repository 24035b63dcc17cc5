// The defences of the `defenses` experiment on tiny batches: shapes, soft labels that sum to 1 and match
// the mixed pixels, cutout's square, JPEG's small change (and that the batched mosaic equals encoding each
// image alone), JPEG-10 against Pillow's libjpeg, bit-depth reduction's levels, noise within [0, 1],
// adversarial examples in the eps ball, and the trainer's hook.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import jpeg from "jpeg-js";
import { Rng } from "../../src/data/index.js";
import {
  adversarialTraining,
  type BatchTransform,
  cutmix,
  cutout,
  cutoutBox,
  DEFENSE_DEFAULTS,
  DEFENSE_NAMES,
  type DefenseName,
  type DefenseSettings,
  defenseSkipReason,
  gaussianNoise,
  JPEG10_QUALITY,
  jpegImages,
  jpegRoundTrip,
  makeDefense,
  mixup,
  posterize,
  sampleBeta,
  toGrayscale,
} from "../../src/experiment/index.js";
import { SmallCNN } from "../../src/models/index.js";
import { F, manualSeed, noGrad, scope, type Tensor, tensor } from "../../src/torch/index.js";
import { recipe, train } from "../../src/train/index.js";
import { byteDifference, hasPil, PYTHON, pil } from "../pil.js";
import { needs } from "../requirements.js";
import { syntheticDataset } from "../train/synthetic.js";

/** Pillow's (libjpeg's) round trip of H,W,C uint8 pixels at `quality` (scripts/fixtures/pil_jpeg.py). */
function pilJpeg(pixels: Uint8Array, c: number, quality: number): Uint8Array {
  const script = join(process.cwd(), "scripts/fixtures/pil_jpeg.py");
  const r = spawnSync(PYTHON, [script, String(SIDE), String(SIDE), String(c), String(quality)], { input: pixels });
  assert.equal(r.status, 0, String(r.stderr));
  return new Uint8Array(r.stdout);
}

const SIDE = 28;
const model = () => {
  manualSeed(0);
  return new SmallCNN({ inChannels: 1, numClasses: 4, imageSize: SIDE, batchNorm: true });
};
const step = { model: undefined as unknown as SmallCNN, epoch: 0, index: 0 };

/** B images of C channels, image i constant at values[i]; labels i. */
function constantBatch(values: number[], c = 1): { x: Tensor; y: Tensor } {
  const plane = SIDE * SIDE;
  const data = new Float32Array(values.length * c * plane);
  for (const [i, v] of values.entries()) data.fill(v, i * c * plane, (i + 1) * c * plane);
  return {
    x: tensor(data, [values.length, c, SIDE, SIDE]),
    y: tensor(
      Int32Array.from(values, (_, i) => i),
      [values.length],
    ).long(),
  };
}

/** Smooth images with a little texture, like photographs at this size. */
function smoothPixels(b: number, c: number): Float32Array {
  const rng = new Rng(3);
  const out = new Float32Array(b * c * SIDE * SIDE);
  for (let i = 0; i < out.length; i++) {
    const p = i % (SIDE * SIDE);
    const y = Math.floor(p / SIDE);
    const x = p % SIDE;
    out[i] = Math.min(
      1,
      Math.max(0, 0.2 + 0.5 * Math.sin((x + y + i / (SIDE * SIDE)) / 9) ** 2 + 0.03 * rng.nextFloat()),
    );
  }
  return out;
}

function rows(t: Tensor): number[][] {
  const [b, k] = t.shape as [number, number];
  const flat = t.toArray();
  return Array.from({ length: b }, (_, i) => flat.slice(i * k, (i + 1) * k));
}

describe("defences as batch transforms", () => {
  test("cutout zeroes one square per image (clipped at the border) and leaves the rest", () => {
    scope(() => {
      const { x, y } = constantBatch([1, 1, 1, 1, 1, 1, 1, 1]);
      const out = cutout({ fraction: 0.5 }, 7)({ x, y }, step).x;
      assert.deepEqual(out.shape, x.shape);
      const v = out.toArray();
      let fullSquares = 0;
      for (let i = 0; i < 8; i++) {
        const img = v.slice(i * SIDE * SIDE, (i + 1) * SIDE * SIDE);
        const zeros = img.flatMap((p, k) => (p === 0 ? [k] : []));
        assert.ok(img.every((p) => p === 0 || p === 1));
        assert.ok(zeros.length > 0, "cutout cut nothing");
        const rs = zeros.map((k) => Math.floor(k / SIDE));
        const cs = zeros.map((k) => k % SIDE);
        const h = Math.max(...rs) - Math.min(...rs) + 1;
        const w = Math.max(...cs) - Math.min(...cs) + 1;
        assert.equal(zeros.length, h * w, "the zeroed pixels are not a rectangle");
        assert.ok(h <= 14 && w <= 14, `box ${h}x${w} larger than 14x14`);
        if (h === 14 && w === 14) fullSquares++;
      }
      assert.ok(fullSquares > 0, "no image got a whole 14x14 square");
    });
    // Away from the border the box is the whole square.
    const box = cutoutBox({ nextInt: () => 14 } as unknown as Rng, SIDE, SIDE, 14);
    assert.deepEqual(box, { top: 7, bottom: 21, left: 7, right: 21 });
  });

  for (const [name, make] of [
    ["mixup", () => mixup({ alpha: 1 }, 5, 4)],
    ["cutmix", () => cutmix({ alpha: 1 }, 5, 4)],
  ] as const) {
    test(`${name}: soft labels sum to 1 and weigh the images as the pixels are mixed`, () => {
      scope(() => {
        const values = [0.1, 0.35, 0.6, 0.9];
        const { x, y } = constantBatch(values);
        const t = make();
        let mixed = 0;
        for (let index = 0; index < 4; index++) {
          const r = t({ x, y }, { ...step, index });
          assert.deepEqual(r.x.shape, x.shape);
          assert.ok(r.target, "no soft targets");
          assert.deepEqual(r.target.shape, [4, 4]);
          const probs = rows(r.target);
          const means = r.x.mean([1, 2, 3]).toArray();
          probs.forEach((p, i) => {
            assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5, `row ${i} sums to ${p}`);
            assert.ok(p.every((q) => q >= -1e-7 && q <= 1 + 1e-7));
            // Image k is constant values[k] and has label k: the mean pixel is the label-weighted mean.
            const expected = p.reduce((s, q, k) => s + q * values[k]!, 0);
            assert.ok(Math.abs(means[i]! - expected) < 1e-5, `${name} image ${i}: ${means[i]} vs ${expected}`);
            if (Math.max(...p) < 0.999) mixed++;
          });
        }
        assert.ok(mixed > 0, `${name} never mixed two images`);
      });
    });
  }

  test("mixup and cutmix repeat for the same (seed, epoch, batch) and differ across batches", () => {
    scope(() => {
      const { x, y } = constantBatch([0.1, 0.35, 0.6, 0.9]);
      for (const t of [mixup({ alpha: 1 }, 5, 4), cutmix({ alpha: 1 }, 5, 4)]) {
        const a = t({ x, y }, step).target!;
        const b = t({ x, y }, step).target!;
        const c = t({ x, y }, { ...step, index: 1 }).target!;
        assert.ok(a.equal(b));
        assert.ok(!a.equal(c));
      }
    });
  });

  test("Beta samples lie in [0, 1] with Beta(a, b)'s mean and variance, for asymmetric a, b", () => {
    const rng = new Rng(1);
    const n = 8000;
    for (const [a, b] of [
      [1, 1],
      [0.4, 0.4],
      [2, 5],
      [0.5, 2],
      [5, 1],
    ] as const) {
      const draws = Array.from({ length: n }, () => sampleBeta(rng, a, b));
      assert.ok(draws.every((d) => d >= 0 && d <= 1));
      const mean = a / (a + b);
      const variance = (a * b) / ((a + b) ** 2 * (a + b + 1));
      const m = draws.reduce((s, d) => s + d, 0) / n;
      const v = draws.reduce((s, d) => s + (d - m) ** 2, 0) / (n - 1);
      // Five standard errors of the mean; the sample variance within 10 % (its standard error is ~2-3 % here).
      assert.ok(Math.abs(m - mean) < 5 * Math.sqrt(variance / n), `Beta(${a}, ${b}) mean ${m}, expected ${mean}`);
      assert.ok(Math.abs(v / variance - 1) < 0.1, `Beta(${a}, ${b}) variance ${v}, expected ${variance}`);
    }
  });

  test("JPEG keeps the shape, changes pixels slightly, and the batched mosaic equals encoding each image alone", () => {
    for (const c of [1, 3]) {
      const b = 5;
      const pixels = smoothPixels(b, c);
      const shape = [b, c, SIDE, SIDE];
      const out = jpegRoundTrip(pixels, shape, 50);
      assert.equal(out.length, pixels.length);
      let sum = 0;
      for (let i = 0; i < out.length; i++) sum += Math.abs(out[i]! - pixels[i]!);
      const mad = sum / out.length;
      assert.ok(mad > 0.001 && mad < 0.05, `mean absolute change ${mad} (${c} channels)`);
      // Reference: image 3 encoded on its own.
      const plane = SIDE * SIDE;
      const rgba = new Uint8Array(plane * 4);
      for (let p = 0; p < plane; p++) {
        for (let k = 0; k < 3; k++)
          rgba[p * 4 + k] = Math.round(pixels[3 * c * plane + (c === 3 ? k : 0) * plane + p]! * 255);
        rgba[p * 4 + 3] = 255;
      }
      const alone = jpeg.decode(jpeg.encode({ data: rgba, width: SIDE, height: SIDE }, 50).data, {
        useTArray: true,
      }).data;
      for (let p = 0; p < plane; p++) {
        const ref = c === 3 ? alone[p * 4]! / 255 : (alone[p * 4]! + alone[p * 4 + 1]! + alone[p * 4 + 2]!) / (3 * 255);
        assert.ok(Math.abs(out[3 * c * plane + p]! - ref) < 1e-6, `pixel ${p} differs from the lone encoding`);
      }
    }
    scope(() => {
      const x = tensor(smoothPixels(2, 1), [2, 1, SIDE, SIDE]);
      const jpeg75 = makeDefense("jpeg", { ...DEFENSE_DEFAULTS, jpeg: { quality: 75 } }, { seed: 0, numClasses: 2 })!;
      const r = jpeg75({ x, y: tensor([0, 1]).long() }, step);
      assert.deepEqual(r.x.shape, [2, 1, SIDE, SIDE]);
      assert.equal(r.target, undefined);
    });
  });

  test("JPEG round trip matches PIL's (python3-pil) at the same quality", {
    skip: needs(hasPil, "python3-pil"),
  }, () => {
    const plane = SIDE * SIDE;
    const pixels = smoothPixels(1, 3);
    const hwc = new Uint8Array(3 * plane);
    for (let p = 0; p < plane; p++)
      for (let k = 0; k < 3; k++) hwc[p * 3 + k] = Math.round(pixels[k * plane + p]! * 255);
    for (const quality of [30, 50, 90]) {
      const ours = jpegRoundTrip(pixels, [1, 3, SIDE, SIDE], quality);
      const oursHwc = new Uint8Array(3 * plane);
      for (let p = 0; p < plane; p++)
        for (let k = 0; k < 3; k++) oursHwc[p * 3 + k] = Math.round(ours[k * plane + p]! * 255);
      // PIL with 4:4:4 sampling, as jpeg-js encodes: the same IJG quantisation tables, so the two differ only
      // in DCT rounding, a few levels (measured on this image: max 5, mean 0.63, at quality 30).
      // A quality that is not applied shows: 75 in place of 30 measured max 31, mean 4.0.
      const reference = pil(
        `im = Image.frombytes("RGB", (${SIDE}, ${SIDE}), sys.stdin.buffer.read()); b = io.BytesIO()\n` +
          `im.save(b, "JPEG", quality=${quality}, subsampling=0); b.seek(0)\n` +
          'sys.stdout.buffer.write(Image.open(b).convert("RGB").tobytes())',
        hwc,
      );
      const d = byteDifference(oursHwc, reference);
      assert.ok(d.max <= 6 && d.mean < 1, `quality ${quality}: max ${d.max}, mean ${d.mean} from PIL`);
    }
  });

  test("jpeg10 (the table's ISS JPEG-10) changes images more than JPEG-50", () => {
    const jpeg10 = makeDefense("jpeg10", DEFENSE_DEFAULTS, { seed: 0, numClasses: 4 })!;
    const jpeg50 = makeDefense("jpeg", { ...DEFENSE_DEFAULTS, jpeg: { quality: 50 } }, { seed: 0, numClasses: 4 })!;
    for (const c of [1, 3]) {
      scope(() => {
        const x = tensor(smoothPixels(4, c), [4, c, SIDE, SIDE]);
        const y = tensor([0, 1, 2, 3]).long();
        const change = (t: typeof jpeg10) => t({ x, y }, step).x.sub(x).abs().mean().item();
        const [at10, at50] = [change(jpeg10), change(jpeg50)];
        assert.ok(at10 > 1.5 * at50, `${c} channels: JPEG-10 changes ${at10}, JPEG-50 ${at50}`);
      });
    }
  });

  test("JPEG-10 matches Pillow's libjpeg on fixed images: mean difference under 1 grey level", {
    skip: needs(hasPil, "python3-pil"),
  }, () => {
    for (const c of [1, 3]) {
      const pixels = Float32Array.from(smoothPixels(1, c), (v) => Math.round(v * 255) / 255);
      const ours = jpegRoundTrip(pixels, [1, c, SIDE, SIDE], 10);
      // N,C,H,W floats -> H,W,C bytes for Pillow, and back.
      const plane = SIDE * SIDE;
      const hwc = new Uint8Array(c * plane);
      for (let p = 0; p < plane; p++)
        for (let k = 0; k < c; k++) hwc[p * c + k] = Math.round(pixels[k * plane + p]! * 255);
      const pil = pilJpeg(hwc, c, 10);
      let diff = 0;
      let change = 0;
      for (let p = 0; p < plane; p++) {
        for (let k = 0; k < c; k++) {
          diff += Math.abs(ours[k * plane + p]! * 255 - pil[p * c + k]!);
          change += Math.abs(pil[p * c + k]! - hwc[p * c + k]!);
        }
      }
      const [mad, madChange] = [diff / (c * plane), change / (c * plane)];
      console.log(
        `${c} channels: |ours - Pillow| ${mad.toFixed(3)}, Pillow's own change ${madChange.toFixed(3)} grey levels`,
      );
      assert.ok(mad < 1, `${c} channels: mean |ours - Pillow| ${mad} grey levels`);
      assert.ok(madChange > 2, `${c} channels: JPEG-10 barely changed the image (${madChange})`);
    }
  });

  test("bdr keeps 2^bits levels per value, as torchvision's posterize, and is idempotent", () => {
    scope(() => {
      // Every 8-bit value once.
      const x = tensor(
        Float32Array.from({ length: 256 }, (_, g) => g / 255),
        [1, 1, 16, 16],
      );
      const y = tensor([0]).long();
      for (const bits of [1, 2, 3, 8]) {
        const bdr = posterize({ bits });
        const out = bdr(x);
        const grey = out.toArray().map((v) => Math.round(v * 255));
        assert.equal(new Set(grey).size, 2 ** bits, `${bits} bits: ${new Set(grey).size} levels`);
        const mask = 0xff & ~(2 ** (8 - bits) - 1);
        grey.forEach((v, g) => {
          assert.equal(v, g & mask, `${bits} bits: value ${g} -> ${v}, posterize gives ${g & mask}`);
        });
        assert.ok(bdr(out).equal(out), `${bits} bits: not idempotent`);
      }
      const table = makeDefense("bdr", DEFENSE_DEFAULTS, { seed: 0, numClasses: 4 })!;
      assert.equal(new Set(table({ x, y }, step).x.toArray()).size, 4, "the table's bdr is not 2 bits");
    });
    assert.throws(() => posterize({ bits: 0 }), /bits must be an integer in 1\.\.8/);
  });

  test("grayscale: luminance in all three channels; a no-op on grey images, which the experiment skips", () => {
    scope(() => {
      const plane = SIDE * SIDE;
      // Every pixel its own colour, none of them a primary: swapped or wrong weights show.
      const rgb = smoothPixels(1, 3).map((v, i) => (v + (i % 7) / 7) % 1);
      const r = toGrayscale(tensor(rgb, [1, 3, SIDE, SIDE]));
      assert.deepEqual(r.shape, [1, 3, SIDE, SIDE]);
      const v = r.toArray();
      for (let p = 0; p < plane; p++) {
        // ITU-R 601 luma, as torchvision's rgb_to_grayscale and PIL's convert("L") weigh it.
        const luma = 0.299 * rgb[p]! + 0.587 * rgb[plane + p]! + 0.114 * rgb[2 * plane + p]!;
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(v[c * plane + p]! - luma) < 1e-6, `pixel ${p} channel ${c}`);
      }
      const grey = tensor(smoothPixels(1, 1), [1, 1, SIDE, SIDE]);
      assert.ok(toGrayscale(grey).equal(grey));
    });
    assert.match(defenseSkipReason("grayscale", 1) ?? "", /one channel/);
    assert.equal(defenseSkipReason("grayscale", 3), null);
    assert.equal(defenseSkipReason("noise", 1), null);
  });

  test("Gaussian noise stays in [0, 1] with the asked spread", () => {
    scope(() => {
      manualSeed(2);
      const x = tensor(new Float32Array(16 * SIDE * SIDE).fill(0.5), [16, 1, SIDE, SIDE]);
      const out = gaussianNoise({ sigma: 16 })({ x, y: tensor(new Int32Array(16)).long() }, step).x;
      assert.deepEqual(out.shape, x.shape);
      assert.ok(out.amin().item() >= 0 && out.amax().item() <= 1);
      const sd = out.sub(x).std().item();
      assert.ok(Math.abs(sd - 16 / 255) < 0.1 * (16 / 255), `noise sd ${sd}`);
      const edge = tensor(new Float32Array(16 * SIDE * SIDE).fill(1), [16, 1, SIDE, SIDE]);
      const clipped = gaussianNoise({ sigma: 64 })({ x: edge, y: tensor(new Int32Array(16)).long() }, step).x;
      assert.ok(clipped.amax().item() <= 1 && clipped.amin().item() >= 0);
    });
  });

  test("adversarial training: PGD examples in the eps ball that raise the victim's loss, mode and grads untouched", () => {
    const m = model();
    try {
      scope(() => {
        const ds = syntheticDataset(16, 1);
        const x = tensor(
          Float32Array.from(ds.images!, (v) => v / 255),
          [16, 1, SIDE, SIDE],
        );
        const y = tensor(ds.labels, [16]).long();
        m.train();
        const t = adversarialTraining({ eps: 16, steps: 3, tau: 0.5 });
        const adv = t({ x, y }, { model: m, epoch: 0, index: 0 }).x;
        assert.equal(m.training, true, "the victim must be back in training mode");
        assert.ok(
          m.parameters().every((p) => p.grad === undefined),
          "the attack must not leave parameter gradients",
        );
        assert.ok(adv.sub(x).abs().amax().item() <= 16 / 255 + 1e-6);
        assert.ok(adv.amin().item() >= 0 && adv.amax().item() <= 1);
        const loss = (input: Tensor) =>
          noGrad(() => {
            m.eval();
            const l = F.crossEntropy(m.forward(input), y).item();
            m.train();
            return l;
          });
        assert.ok(loss(adv) > loss(x), "PGD did not raise the loss");
      });
    } finally {
      m.dispose();
    }
  });

  test("train() applies the hook to every batch and trains on soft targets", async () => {
    const m = model();
    try {
      const ds = syntheticDataset(96, 2);
      let calls = 0;
      const mix = mixup({ alpha: 1 }, 3, 4);
      const r = await train(m, ds, {
        recipe: recipe("fast", { epochs: 2, batchSize: 32 }),
        seed: 3,
        batchTransform: (batch, s) => {
          calls++;
          assert.equal(s.model, m);
          return mix(batch, s);
        },
      });
      assert.equal(calls, 6);
      assert.equal(r.history.length, 2);
      assert.ok(r.history.every((h) => Number.isFinite(h.trainLoss)));
    } finally {
      m.dispose();
    }
  });

  test("train() learns from a hook's soft targets: one-hot y trains as y does, one-hot π(y) trains otherwise", async () => {
    const ds = syntheticDataset(64, 2);
    const options = { recipe: recipe("fast", { epochs: 1, batchSize: 32 }), seed: 3 };
    const oneHot = (labels: Tensor, shift: number) => F.oneHot(labels.add(shift).remainder(4), 4).float();
    const trained = async (shift?: number): Promise<number[]> => {
      const m = model();
      try {
        await train(m, ds, {
          ...options,
          ...(shift === undefined ? {} : { batchTransform: ({ x, y }) => ({ x, target: oneHot(y, shift) }) }),
        });
        return m.parameters().flatMap((p) => p.toArray());
      } finally {
        m.dispose();
      }
    };
    const maxDiff = (a: number[], b: number[]) => a.reduce((d, v, i) => Math.max(d, Math.abs(v - b[i]!)), 0);
    const plain = await trained();
    const sameTargets = await trained(0);
    const shifted = await trained(1);
    assert.ok(maxDiff(plain, sameTargets) < 1e-4, `one-hot y vs y: ${maxDiff(plain, sameTargets)}`);
    assert.ok(maxDiff(plain, shifted) > 1e-2, `one-hot π(y) vs y: ${maxDiff(plain, shifted)}`);
  });

  test("makeDefense: each name gives the transform that does the named thing, with its own settings", () => {
    // Settings unlike the defaults and unlike each other, so a defence built with another's settings shows.
    const settings: DefenseSettings = {
      adversarial: { eps: 12, steps: 2, tau: 0.5 },
      cutout: { fraction: 0.25 },
      mixup: { alpha: 1 },
      cutmix: { alpha: 1 },
      jpeg: { quality: 30 },
      bdr: { bits: 3 },
      noise: { sigma: 24 },
    };
    const numClasses = 4;
    const plane = SIDE * SIDE;
    // Smooth 8-bit RGB images (every channel different, so grayscale changes them) and constant ones.
    const textured = () =>
      tensor(
        smoothPixels(4, 3).map((v, i) => Math.round(((v + (i % 5) / 9) % 1) * 255) / 255),
        [4, 3, SIDE, SIDE],
      );
    const labels = () => tensor([0, 1, 2, 3]).long();
    const closeTo = (out: Tensor, expected: Float32Array, what: string) => {
      const v = out.contiguous().toTypedArray() as Float32Array;
      const worst = v.reduce((d, a, i) => Math.max(d, Math.abs(a - expected[i]!)), 0);
      assert.ok(worst < 1e-6, `${what}: differs by up to ${worst}`);
    };
    const jpegAt = (quality: number) => (t: BatchTransform) => {
      const x = textured();
      const r = t({ x, y: labels() }, step);
      assert.equal(r.target, undefined);
      closeTo(r.x, jpegRoundTrip(x.toTypedArray() as Float32Array, x.shape, quality), `JPEG at quality ${quality}`);
    };
    // Four constant images (image i at values[i], label i) for mixup and cutmix: mixing shows in the values.
    const values = [0.1, 0.35, 0.6, 0.9];
    /** What makeDefense(name) must do, by name: a Record, so a name without a check does not compile. */
    const behaviour: Record<Exclude<DefenseName, "none">, (t: BatchTransform) => void> = {
      adversarial: (t) => {
        manualSeed(0);
        const m = new SmallCNN({ inChannels: 3, numClasses, imageSize: SIDE });
        try {
          const x = textured();
          const y = labels();
          const adv = t({ x, y }, { model: m, epoch: 0, index: 0 }).x;
          const d = adv.sub(x).abs().amax().item();
          assert.ok(d <= 12 / 255 + 1e-6 && d > 8 / 255, `adversarial: L-inf ${d * 255} grey levels, not eps 12`);
          const loss = (input: Tensor) => noGrad(() => F.crossEntropy(m.forward(input), y).item());
          assert.ok(loss(adv) > loss(x), "adversarial: PGD did not raise the loss");
        } finally {
          m.dispose();
        }
      },
      cutout: (t) => {
        const x = tensor(new Float32Array(4 * 3 * plane).fill(1), [4, 3, SIDE, SIDE]);
        const r = t({ x, y: labels() }, step);
        assert.equal(r.target, undefined);
        const zeros = r.x.eq(0).sum().item();
        const ones = r.x.eq(1).sum().item();
        assert.equal(zeros + ones, 4 * 3 * plane, "cutout: values other than 0 and 1");
        // fraction 0.25 of 28 px: squares of 7 px at most, one per image, in every channel.
        assert.ok(zeros > 0 && zeros <= 4 * 3 * 7 * 7, `cutout: ${zeros} values zeroed`);
      },
      mixup: (t) => {
        const batch = constantBatch(values, 3);
        let blended = 0;
        for (let index = 0; index < 4; index++) {
          const r = t(batch, { ...step, index });
          assert.ok(r.target, "mixup: no soft targets");
          // A blend of whole images: every image stays constant, at its labels' weighted mean.
          const lo = r.x.amin([1, 2, 3]).toArray();
          const hi = r.x.amax([1, 2, 3]).toArray();
          rows(r.target).forEach((p, i) => {
            const expected = p.reduce((a, q, k) => a + q * values[k]!, 0);
            assert.ok(hi[i]! - lo[i]! < 1e-6, `mixup: image ${i} is not one blend (${lo[i]}..${hi[i]})`);
            assert.ok(Math.abs(lo[i]! - expected) < 1e-5, `mixup: image ${i} ${lo[i]}, labels say ${expected}`);
            if (values.every((v) => Math.abs(lo[i]! - v) > 1e-3)) blended++;
          });
        }
        assert.ok(blended > 0, "mixup: no image blended in four batches");
      },
      cutmix: (t) => {
        const batch = constantBatch(values, 3);
        let pasted = 0;
        for (let index = 0; index < 4; index++) {
          const r = t(batch, { ...step, index });
          assert.ok(r.target, "cutmix: no soft targets");
          // A box pasted from another image: every pixel is one of the inputs' values, never a blend.
          const v = r.x.toArray();
          assert.ok(
            v.every((a) => values.some((b) => Math.abs(a - b) < 1e-6)),
            "cutmix: blended pixels",
          );
          for (let i = 0; i < 4; i++) if (new Set(v.slice(i * 3 * plane, (i + 1) * 3 * plane)).size > 1) pasted++;
        }
        assert.ok(pasted > 0, "cutmix: no box pasted in four batches");
      },
      jpeg: jpegAt(30),
      jpeg10: jpegAt(JPEG10_QUALITY),
      bdr: (t) => {
        const x = textured();
        const grey = (x.toTypedArray() as Float32Array).map((v) => Math.round(v * 255));
        // 3 bits: posterize keeps g & 0b11100000.
        closeTo(
          t({ x, y: labels() }, step).x,
          grey.map((g) => (g & 0xe0) / 255),
          "bdr at 3 bits",
        );
      },
      grayscale: (t) => {
        const x = textured();
        const v = x.toTypedArray() as Float32Array;
        const expected = new Float32Array(v.length);
        for (let i = 0; i < 4; i++) {
          for (let p = 0; p < plane; p++) {
            const [r, g, b] = [0, 1, 2].map((c) => v[(3 * i + c) * plane + p]!) as [number, number, number];
            for (let c = 0; c < 3; c++) expected[(3 * i + c) * plane + p] = 0.299 * r + 0.587 * g + 0.114 * b;
          }
        }
        closeTo(t({ x, y: labels() }, step).x, expected, "grayscale");
      },
      noise: (t) => {
        manualSeed(2);
        const x = tensor(new Float32Array(16 * 3 * plane).fill(0.5), [16, 3, SIDE, SIDE]);
        const r = t({ x, y: tensor(new Int32Array(16)).long() }, step);
        assert.equal(r.target, undefined);
        const sd = r.x.sub(x).std().item();
        assert.ok(Math.abs(sd - 24 / 255) < 0.05 * (24 / 255), `noise: sd ${sd * 255} grey levels, not sigma 24`);
      },
    };
    assert.equal(makeDefense("none", settings, { seed: 0, numClasses }), undefined);
    for (const name of DEFENSE_NAMES) {
      if (name === "none") continue;
      const t = makeDefense(name, settings, { seed: 5, numClasses });
      assert.ok(t, `${name}: no transform`);
      scope(() => behaviour[name](t));
    }
    assert.throws(() => jpegImages({ quality: 0 }), /quality/);
    assert.throws(() => cutout({ fraction: 0 }, 0), /fraction/);
  });
});
