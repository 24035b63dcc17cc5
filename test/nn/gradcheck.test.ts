// A whole-model gradient check: autograd gradients of a SmallCNN-shaped network's loss (conv, train-mode batch
// norm, relu, max-pool, twice, then two linear layers and cross-entropy), with respect to every parameter and to
// the input, against central finite differences in float64 on a seeded random subset of coordinates. The model is
// written with F.* over float64 tensors because nn modules hold float32 parameters. op-grads.test.ts checks each
// op alone; this checks that they compose (batch statistics, pooling indices, broadcasting of biases).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../../src/data/index.js";
import { F, grad, manualSeed, noGrad, randint, randn, scope, type Tensor, tensor } from "../../src/torch/index.js";

const EPS = 1e-6;
/** Central differences with eps 1e-6 in float64: O(eps^2) truncation, O(1e-16/eps) rounding. */
const ABS_TOL = 1e-7;
const REL_TOL = 1e-6;
const COORDS_PER_TENSOR = 24;

const SHAPES: Record<string, number[]> = {
  input: [4, 1, 8, 8],
  "conv1.weight": [4, 1, 3, 3],
  "bn1.weight": [4],
  "bn1.bias": [4],
  "conv2.weight": [6, 4, 3, 3],
  "bn2.weight": [6],
  "bn2.bias": [6],
  "fc1.weight": [10, 24],
  "fc1.bias": [10],
  "fc2.weight": [3, 10],
  "fc2.bias": [3],
};
const NAMES = Object.keys(SHAPES);

type Values = Record<string, Float64Array>;
type Tensors = Record<string, Tensor>;
/** How batch norm is applied: as PyTorch in training mode, or (wrongly, for the negative test) with its batch
 * statistics treated as constants: the same values, but no gradient through the mean and variance. */
type BatchNormMode = "train" | "detached-stats";

function batchNorm(x: Tensor, t: Tensors, name: string, mode: BatchNormMode): Tensor {
  const weight = t[`${name}.weight`]!;
  const bias = t[`${name}.bias`]!;
  if (mode === "train") {
    const c = x.size(1);
    // Running statistics as the module passes them: updated in place, irrelevant to the train-mode output.
    const runningMean = tensor(new Float64Array(c), [c]);
    const runningVar = tensor(new Float64Array(c).fill(1), [c]);
    return F.batchNorm(x, { weight, bias, runningMean, runningVar, training: true });
  }
  const [mean, variance] = noGrad(() => [x.mean([0, 2, 3]), x.var([0, 2, 3], false, false)]);
  return F.batchNorm(x, { weight, bias, runningMean: mean, runningVar: variance, training: false });
}

function loss(t: Tensors, labels: Tensor, mode: BatchNormMode = "train"): Tensor {
  const block = (x: Tensor, conv: string, bn: string) =>
    F.maxPool2d(F.relu(batchNorm(F.conv2d(x, t[`${conv}.weight`]!, undefined, { padding: 1 }), t, bn, mode)), 2);
  const h = block(block(t.input!, "conv1", "bn1"), "conv2", "bn2").flatten(1);
  const logits = F.linear(F.relu(F.linear(h, t["fc1.weight"]!, t["fc1.bias"])), t["fc2.weight"]!, t["fc2.bias"]);
  return F.crossEntropy(logits, labels);
}

function tensorsOf(values: Values, requiresGrad: boolean): Tensors {
  return Object.fromEntries(NAMES.map((k) => [k, tensor(values[k]!, SHAPES[k]!).requiresGrad_(requiresGrad)] as const));
}

function setup(): { values: Values; labels: number[] } {
  manualSeed(7);
  const scale: Record<string, [number, number]> = {
    input: [0.5, 1],
    "conv1.weight": [0, 0.5],
    "bn1.weight": [1, 0.3],
    "bn1.bias": [0, 0.3],
    "conv2.weight": [0, 0.2],
    "bn2.weight": [1, 0.3],
    "bn2.bias": [0, 0.3],
    "fc1.weight": [0, 0.3],
    "fc1.bias": [0, 0.3],
    "fc2.weight": [0, 0.5],
    "fc2.bias": [0, 0.3],
  };
  const values: Values = {};
  scope(() => {
    for (const k of NAMES) {
      const [mean, std] = scale[k]!;
      values[k] = randn(SHAPES[k]!, { dtype: "float64" }).mul(std).add(mean).toTypedArray() as Float64Array;
    }
  });
  const labels = scope(() => randint(0, 3, [4]).toArray());
  return { values, labels };
}

interface Check {
  worst: number;
  checked: number;
  failures: string[];
}

/** Compares `analytic` (by name) with central differences of the train-mode loss on random coordinates. */
function checkAgainstFiniteDifferences(values: Values, labels: number[], analytic: Record<string, number[]>): Check {
  const labelTensor = tensor(BigInt64Array.from(labels, BigInt), [labels.length]);
  const lossAt = (): number => noGrad(() => scope(() => loss(tensorsOf(values, false), labelTensor).item()));
  const rng = new Rng(2024);
  const result: Check = { worst: 0, checked: 0, failures: [] };
  for (const k of NAMES) {
    const v = values[k]!;
    const coords =
      v.length <= COORDS_PER_TENSOR ? [...v.keys()] : rng.shuffle([...v.keys()]).slice(0, COORDS_PER_TENSOR);
    for (const i of coords) {
      const x0 = v[i]!;
      v[i] = x0 + EPS;
      const plus = lossAt();
      v[i] = x0 - EPS;
      const minus = lossAt();
      v[i] = x0;
      const fd = (plus - minus) / (2 * EPS);
      const ad = analytic[k]![i]!;
      const err = Math.abs(ad - fd);
      result.worst = Math.max(result.worst, err);
      result.checked++;
      if (err > ABS_TOL + REL_TOL * Math.abs(fd)) result.failures.push(`${k}[${i}]: autograd ${ad}, finite diff ${fd}`);
    }
  }
  labelTensor.dispose();
  return result;
}

function autogradGradients(values: Values, labels: number[], mode: BatchNormMode): Record<string, number[]> {
  return scope(() => {
    const t = tensorsOf(values, true);
    const l = loss(t, tensor(BigInt64Array.from(labels, BigInt), [labels.length]), mode);
    const grads = grad(
      l,
      NAMES.map((k) => t[k]!),
    );
    return Object.fromEntries(NAMES.map((k, i) => [k, grads[i]!.toArray()]));
  });
}

describe("whole-model gradient check (float64, central differences)", () => {
  const { values, labels } = setup();

  test("autograd matches finite differences for every parameter and the input", (t) => {
    const analytic = autogradGradients(values, labels, "train");
    // Every tensor gets a gradient that matters: none is identically zero.
    for (const k of NAMES) {
      const largest = Math.max(...analytic[k]!.map(Math.abs));
      assert.ok(largest > 1e-4, `${k}: largest gradient ${largest}`);
    }
    const check = checkAgainstFiniteDifferences(values, labels, analytic);
    t.diagnostic(`${check.checked} coordinates, max |autograd - finite difference| = ${check.worst}`);
    assert.ok(check.checked >= 150, `only ${check.checked} coordinates checked`);
    assert.deepEqual(check.failures, []);
  });

  test("the check catches a wrong gradient: batch norm without the gradient through its batch statistics", () => {
    // Same loss value, different gradients: finite differences must expose them.
    const wrong = autogradGradients(values, labels, "detached-stats");
    const right = autogradGradients(values, labels, "train");
    const labelTensor = tensor(BigInt64Array.from(labels, BigInt), [labels.length]);
    const [a, b] = noGrad(() =>
      scope(() => [
        loss(tensorsOf(values, false), labelTensor, "train").item(),
        loss(tensorsOf(values, false), labelTensor, "detached-stats").item(),
      ]),
    );
    labelTensor.dispose();
    assert.ok(Math.abs(a - b) < 1e-12, `the two losses differ: ${a} vs ${b}`);
    const check = checkAgainstFiniteDifferences(values, labels, wrong);
    assert.ok(check.failures.length > 10, `only ${check.failures.length} mismatches found`);
    // Upstream of a batch norm's statistics every gradient changes; bn2's affine parameters and the linear layers
    // come after the last statistics and keep theirs, so exactly those coordinates still pass.
    const affected = ["input", "conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight"];
    for (const k of affected) {
      assert.ok(
        check.failures.some((f) => f.startsWith(`${k}[`)),
        `no mismatch in ${k}`,
      );
    }
    const unaffected = check.failures.filter((f) => !affected.some((k) => f.startsWith(`${k}[`)));
    assert.deepEqual(unaffected, []);
    assert.notDeepEqual(wrong.input, right.input);
  });
});
