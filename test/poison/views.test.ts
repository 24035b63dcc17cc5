import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { posterize } from "../../src/experiment/index.js";
import { makePlan, methodOf, methodSettings } from "../../src/poison/index.js";
import { applyViews, lowpass, parseViews, softPosterize } from "../../src/poison/views.js";
import { grad, manualSeed, rand, scope, type Tensor, tensor } from "../../src/torch/index.js";
import { syntheticSource } from "./synthetic-release.js";

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

describe("defence views", { timeout: 60_000 }, () => {
  test("parseViews takes defaults, values and refuses what it does not know", () => {
    assert.deepEqual(parseViews("bdr, lowpass:2,noise:4 ,cutout"), [
      { kind: "bdr", value: 2 },
      { kind: "lowpass", value: 2 },
      { kind: "noise", value: 4 },
      { kind: "cutout", value: 0.5 },
    ]);
    assert.deepEqual(parseViews(""), []);
    assert.throws(() => parseViews("jpeg:10"), /unknown defence view 'jpeg:10'/);
    assert.throws(() => parseViews("bdr:9"), /bdr: value must be an integer in \[1, 7\]/);
    assert.throws(() => parseViews("lowpass:2.5"), /lowpass/);
    assert.throws(() => parseViews("noise:x"), /noise/);
    assert.deepEqual(parseViews("crop,jitter:0.2"), [
      { kind: "crop", value: 0.2 },
      { kind: "jitter", value: 0.2 },
    ]);
    assert.throws(() => parseViews("crop:0"), /crop: value must be in \[0.01, 1\]/);
  });

  test("crop at scale 1 keeps a square image; at 0.2 it zooms in: a crop of the image, resized, differentiable", () => {
    scope(() => {
      manualSeed(2);
      // A horizontal ramp: a crop of it is a steeper ramp over a narrower range of values.
      const ramp = Float32Array.from({ length: 28 * 28 }, (_, i) => (i % 28) / 27);
      const x = tensor(ramp, [1, 1, 28, 28]).expand(64, 1, 28, 28).contiguous().requiresGrad_(true);
      const range = (t: Tensor) => t.amax([1, 2, 3]).sub(t.amin([1, 2, 3]));
      // Square crops of the whole area only: the aspect ratio draw makes some a little narrower or shorter.
      const whole = applyViews(x, parseViews("crop:1"), 1);
      assert.ok(range(whole).amin().item() > 0.7, "scale 1 keeps most of the image");
      const zoomed = applyViews(x, parseViews("crop:0.2"), 1);
      const r = range(zoomed);
      assert.ok(r.amax().item() <= 1 + 1e-5 && zoomed.amin().item() >= -1e-6, "values stay those of the image");
      assert.ok(r.mean().item() < range(whole).mean().item() - 0.1, "smaller crops span less of the ramp");
      const [g] = grad(zoomed.sum(), x);
      assert.ok(g!.abs().sum().item() > 0, "the crop passes gradients to the image");
    });
  });

  test("jitter scales brightness and contrast within its strength and stays in [0, 1]", () => {
    scope(() => {
      manualSeed(3);
      const x = rand([256, 1, 8, 8]).mul(0.5).add(0.25);
      assert.ok(applyViews(x, parseViews("jitter:0"), 1).sub(x).abs().amax().item() < 1e-6, "strength 0 is a no-op");
      const out = applyViews(x, parseViews("jitter:0.4"), 1);
      assert.ok(out.amin().item() >= 0 && out.amax().item() <= 1);
      const ratio = out.mean([1, 2, 3]).div(x.mean([1, 2, 3]));
      assert.ok(ratio.amin().item() >= 0.55 && ratio.amax().item() <= 1.45, "brightness within 1 +- 0.4");
      assert.ok(ratio.std().item() > 0.1, "brightness differs from image to image");
    });
  });

  test("the smooth posterize equals posterizing away from the thresholds, and its gradient lives near them", () => {
    scope(() => {
      // Grey levels 0..255, one per pixel.
      const levels = Float32Array.from({ length: 256 }, (_, i) => i / 255);
      const x = tensor(levels, [1, 1, 16, 16]).requiresGrad_(true);
      const soft = softPosterize(x, 2);
      const hard = posterize({ bits: 2 })(x.detach());
      const s = soft.detach().toTypedArray() as Float32Array;
      const h = hard.toTypedArray() as Float32Array;
      const [g] = grad(soft.sum(), x);
      const gv = g!.toTypedArray() as Float32Array;
      for (let v = 0; v < 256; v++) {
        const distance = Math.min(...[64, 128, 192].map((t) => Math.abs(v - t)));
        if (distance >= 12) close(s[v]!, h[v]!, 1e-3, `level ${v}`);
        if (distance >= 20) assert.ok(gv[v]! < 0.01, `level ${v}: gradient ${gv[v]} far from a threshold`);
        if (distance <= 1) assert.ok(gv[v]! > 1, `level ${v}: gradient ${gv[v]} at a threshold`);
      }
    });
  });

  test("lowpass keeps block means at K = 1, everything at K = 8, and is linear", () => {
    scope(() => {
      manualSeed(0);
      const x = rand([2, 1, 28, 28]);
      const full = lowpass(x, 8);
      assert.ok(full.sub(x).abs().amax().item() < 1e-5, "K = 8 must change nothing");
      const dc = lowpass(x, 1);
      // Block (0, 0) of image 0: every pixel is the block's mean.
      const block = x.slice(2, 0, 8).slice(3, 0, 8).select(0, 0);
      close(dc.select(0, 0).select(0, 0).select(0, 3).select(0, 5).item(), block.mean().item(), 1e-5, "DC block");
      const y = rand([2, 1, 28, 28]);
      const lin = lowpass(x.add(y.mul(2)), 3).sub(lowpass(x, 3).add(lowpass(y, 3).mul(2)));
      assert.ok(lin.abs().amax().item() < 1e-5, "lowpass is not linear");
    });
  });

  test("applyViews leaves a share of the images as they are", () => {
    scope(() => {
      manualSeed(1);
      const x = rand([400, 1, 8, 8]).mul(0.2).add(0.4);
      assert.equal(applyViews(x, parseViews("noise:40"), 0.5).shape.join(), "400,1,8,8");
      const out = applyViews(x, parseViews("noise:40"), 0.5);
      const changed = out.sub(x).abs().amax([1, 2, 3]).gt(1e-6).float().mean().item();
      assert.ok(changed > 0.4 && changed < 0.6, `${changed} of the images changed at share 0.5`);
      assert.ok(applyViews(x, parseViews("noise:40"), 1).sub(x).abs().amax([1, 2, 3]).amin().item() > 0);
    });
  });

  test("views are a setting of the adversarial methods; plans without them keep an empty extra", () => {
    const { train: ds, plan: source } = syntheticSource();
    const dataset = { spec: source.dataset.spec, dataDir: null, subset: null };
    const crafter = [{ path: "m.safetensors", model: "smallcnn-bn", sha256: "0".repeat(64) }];
    assert.deepEqual(makePlan({ method: "targeted", eps: 8, dataset }, ds, crafter).extra, {});
    const plan = makePlan(
      { method: "untargeted", eps: 8, dataset, settings: { views: "bdr:2", viewShare: 0.25 } },
      ds,
      crafter,
    );
    assert.deepEqual(plan.extra, { views: "bdr:2", viewShare: 0.25 });
    assert.throws(() => methodSettings(methodOf("targeted"), { views: "jpeg" }), /invalid views/);
    assert.throws(() => methodSettings(methodOf("targeted"), { viewShare: 0 }), /invalid viewShare/);
  });
});
