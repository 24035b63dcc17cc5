// SGD and the lr schedules against torch.optim: test/fixtures/sgd-reference.safetensors, written by
// scripts/fixtures/sgd_reference.py, holds five steps of torch.optim.SGD (fixed gradients, a changing lr, one
// skipped gradient) for several option sets, and the values of MultiStepLR and CosineAnnealingLR per epoch.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { cosine, multiStep, SGD, type SGDOptions } from "../../src/optim/index.js";
import { loadSafetensors, type Tensor } from "../../src/torch/index.js";
import { recipe, scheduleOf } from "../../src/train/index.js";

const FIXTURE = fileURLToPath(new URL("../../../test/fixtures/sgd-reference.safetensors", import.meta.url));
const { tensors, metadata } = loadSafetensors(FIXTURE);
after(() => {
  for (const t of tensors.values()) t.dispose();
});

const NAMES = ["fc.weight", "fc.bias", "conv.weight"];
const STEPS = Number(metadata.steps);
const LRS = tensors.get("lrs")!.toArray();

interface TorchOptions {
  momentum: number;
  nesterov: boolean;
  weight_decay: number;
  dampening: number;
}
const VARIANTS = JSON.parse(metadata.variants!) as Record<string, TorchOptions>;

/** Float32 SGD must agree with PyTorch's to within this (same libtorch kernels: in practice exactly). */
const TOLERANCE = 1e-6;

function get(name: string): Tensor {
  const t = tensors.get(name);
  assert.ok(t, `fixture lacks '${name}'`);
  return t;
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  const x = a.toArray();
  const y = b.toArray();
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
}

function optionsOf(o: TorchOptions, lr: number): SGDOptions {
  return { lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weight_decay, dampening: o.dampening };
}

function freshParams(): Tensor[] {
  return NAMES.map((k) => get(`init.${k}`).clone().requiresGrad_(true));
}

/** Runs steps [from, to) of the fixture's gradient sequence; returns the largest deviation from PyTorch. */
function runSteps(opt: SGD, params: Tensor[], variant: string, from: number, to: number): number {
  let worst = 0;
  for (let step = from; step < to; step++) {
    opt.lr = LRS[step]!;
    NAMES.forEach((k, i) => {
      const g = tensors.get(`grad.${step}.${k}`);
      params[i]!.grad = g?.clone();
    });
    opt.step();
    NAMES.forEach((k, i) => {
      const d = maxAbsDiff(params[i]!, get(`${variant}.${step}.${k}`));
      assert.ok(d <= TOLERANCE, `${variant}: step ${step}, ${k} differs from PyTorch by ${d}`);
      worst = Math.max(worst, d);
    });
  }
  return worst;
}

describe("SGD against torch.optim.SGD", () => {
  test("the fixture holds distinct trajectories (so agreement is not vacuous)", () => {
    const last = STEPS - 1;
    for (const [a, b] of [
      ["nesterov", "momentum"],
      ["momentum", "dampened"],
      ["momentum", "plain"],
      ["nesterov", "nodecay"],
    ] as const) {
      const d = Math.max(...NAMES.map((k) => maxAbsDiff(get(`${a}.${last}.${k}`), get(`${b}.${last}.${k}`))));
      assert.ok(d > 1e-5, `${a} and ${b} end only ${d} apart`);
    }
    // The skipped bias gradient at step 2: plain SGD leaves the bias as it was.
    assert.equal(maxAbsDiff(get("plain.2.fc.bias"), get("plain.1.fc.bias")), 0);
  });

  for (const variant of Object.keys(VARIANTS)) {
    test(`${variant}: ${JSON.stringify(VARIANTS[variant])} for ${STEPS} steps`, (t) => {
      const params = freshParams();
      const opt = new SGD(params, optionsOf(VARIANTS[variant]!, LRS[0]!));
      try {
        const worst = runSteps(opt, params, variant, 0, STEPS);
        t.diagnostic(`max |ours - PyTorch| = ${worst}`);
      } finally {
        opt.dispose();
        for (const p of params) p.dispose();
      }
    });
  }

  test("momentum buffers saved after 2 steps and loaded into a new optimiser continue the trajectory", () => {
    const params = freshParams();
    const options = optionsOf(VARIANTS.nesterov!, LRS[0]!);
    const first = new SGD(params, options);
    runSteps(first, params, "nesterov", 0, 2);
    const saved = new Map([...first.stateTensors()].map(([i, b]) => [i, b.clone()]));
    assert.deepEqual([...saved.keys()], [0, 1, 2]);
    first.dispose();

    const second = new SGD(params, options);
    second.loadStateTensors(saved);
    for (const b of saved.values()) b.dispose();
    try {
      runSteps(second, params, "nesterov", 2, STEPS);
    } finally {
      second.dispose();
      for (const p of params) p.dispose();
    }
  });

  test("without its momentum buffers a resumed optimiser leaves the trajectory", () => {
    const params = freshParams();
    const options = optionsOf(VARIANTS.nesterov!, LRS[0]!);
    const first = new SGD(params, options);
    runSteps(first, params, "nesterov", 0, 2);
    first.dispose();
    const second = new SGD(params, options);
    try {
      assert.throws(() => runSteps(second, params, "nesterov", 2, STEPS), /differs from PyTorch/);
    } finally {
      second.dispose();
      for (const p of params) p.dispose();
    }
  });
});

describe("lr schedules against torch.optim.lr_scheduler", () => {
  const values = (name: string) => get(`sched.${name}`).toArray();
  const close = (actual: number, expected: number, scale: number, what: string) =>
    assert.ok(Math.abs(actual - expected) <= 1e-12 * scale, `${what}: ${actual} vs PyTorch ${expected}`);

  test("multiStep equals MultiStepLR at every epoch", () => {
    const m = JSON.parse(metadata.multistep!) as { lr: number; milestones: number[]; gamma: number; epochs: number };
    const expected = values("multistep");
    assert.equal(expected.length, m.epochs + 1);
    assert.deepEqual(
      expected.map((v) => Number(v.toPrecision(12))),
      [0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001, 0.0001],
    );
    const ours = multiStep(m.lr, m.milestones, m.gamma);
    // The crafting recipe's schedule is the same function of the epoch.
    const crafting = scheduleOf(
      recipe("crafting", { lr: m.lr, milestones: m.milestones, gamma: m.gamma, epochs: m.epochs }),
    );
    expected.forEach((v, epoch) => {
      close(ours(epoch), v, m.lr, `multiStep(${epoch})`);
      close(crafting(epoch), v, m.lr, `crafting schedule(${epoch})`);
    });
    // Within an epoch (the trainer moves the lr every step) the value holds until the next milestone.
    close(ours(2.99), expected[2]!, m.lr, "multiStep(2.99)");
    close(ours(3.01), expected[3]!, m.lr, "multiStep(3.01)");
  });

  const cosines = JSON.parse(metadata.cosine!) as {
    name: string;
    lr: number;
    T_max: number;
    eta_min: number;
    epochs: number;
  }[];
  for (const c of cosines) {
    test(`cosine equals CosineAnnealingLR (lr ${c.lr}, T_max ${c.T_max}, eta_min ${c.eta_min})`, () => {
      const expected = values(c.name);
      assert.equal(expected.length, c.epochs + 1);
      assert.equal(expected[0], c.lr);
      const ours = cosine(c.lr, c.T_max, c.eta_min);
      for (const [epoch, v] of expected.entries()) close(ours(epoch), v, c.lr, `cosine(${epoch})`);
      if (c.eta_min === 0) {
        const victim = scheduleOf(recipe("victim", { lr: c.lr, epochs: c.T_max }));
        for (const [epoch, v] of expected.entries()) close(victim(epoch), v, c.lr, `victim schedule(${epoch})`);
      }
    });
  }
});
