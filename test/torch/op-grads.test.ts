// Every differentiable op of the facade, in float64, against PyTorch's outputs and gradients recorded in
// test/fixtures/op-grads.json (scripts/fixtures/op_grads.py), and against central finite differences, which
// need no PyTorch at all. The objective is sum(op(inputs) * w) with the fixture's fixed random weights w.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import { type ArgValue, CaseArgs, Named, OPS } from "./op-table.js";

interface Encoded {
  shape: number[];
  data: number[];
}
interface EncodedConst {
  dtype: "float64" | "int64" | "bool";
  shape: number[];
  data: (number | boolean)[];
}
interface OpCase {
  name: string;
  op: string;
  args: Record<string, ArgValue>;
  inputs: Record<string, Encoded>;
  consts: Record<string, EncodedConst>;
  weight: Encoded;
  output: Encoded;
  grads: Record<string, Encoded>;
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../../test/fixtures/op-grads.json", import.meta.url)), "utf8"),
) as { torch: string; cases: OpCase[] };

/** Same libtorch on both sides, float64: anything above this is a real difference, not rounding. */
const VS_PYTORCH = 1e-10;
/** Central differences with eps 1e-6 carry O(eps^2) truncation and O(1e-16/eps) rounding error. */
const FD_EPS = 1e-6;
const VS_FINITE_DIFFERENCES = 1e-6;

const float64 = (e: Encoded): torch.Tensor => torch.tensor(new Float64Array(e.data), e.shape);

function constant(e: EncodedConst): torch.Tensor {
  if (e.dtype === "int64")
    return torch.tensor(
      BigInt64Array.from(e.data, (v) => BigInt(v)),
      e.shape,
    );
  if (e.dtype === "bool") return torch.tensor(Uint8Array.from(e.data, Number), e.shape, { dtype: "bool" });
  return torch.tensor(new Float64Array(e.data as number[]), e.shape);
}

/** max |actual - expected| relative to the largest |expected| (the scale of the tensor). */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff === 0 ? 0 : diff / Math.max(scale, Number.MIN_VALUE);
}

function float64Data(t: torch.Tensor): Float64Array {
  assert.equal(t.dtype, "float64");
  return t.toTypedArray() as Float64Array;
}

/** Runs the case's op on fresh copies of its constants (batch norm updates running statistics in place). */
function run(c: OpCase, inputs: Record<string, torch.Tensor>): torch.Tensor {
  const consts = Object.fromEntries(Object.entries(c.consts).map(([k, v]) => [k, constant(v)]));
  const fn = OPS[c.op];
  if (!fn) throw new Error(`no facade op for '${c.op}' in test/torch/op-table.ts`);
  return fn(new Named(inputs, c.name), new Named(consts, c.name), new CaseArgs(c.args, c.name));
}

/** sum(op(inputs) * w) with `name`'s data replaced, without recording a graph. */
function objective(c: OpCase, name: string, data: Float64Array, weight: torch.Tensor): number {
  return torch.scope(() =>
    torch.noGrad(() => {
      const inputs = Object.fromEntries(
        Object.entries(c.inputs).map(([k, v]) => [k, k === name ? torch.tensor(data, v.shape) : float64(v)]),
      );
      return run(c, inputs).mul(weight).sum().item();
    }),
  );
}

function finiteDifferences(c: OpCase, name: string, weight: torch.Tensor): Float64Array {
  const data = new Float64Array(c.inputs[name]!.data);
  const grad = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    data[i] = x + FD_EPS;
    const up = objective(c, name, data, weight);
    data[i] = x - FD_EPS;
    const down = objective(c, name, data, weight);
    data[i] = x;
    grad[i] = (up - down) / (2 * FD_EPS);
  }
  return grad;
}

const worst = {
  outputVsPytorch: { error: 0, where: "" },
  gradVsPytorch: { error: 0, where: "" },
  gradVsFiniteDifferences: { error: 0, where: "" },
};
function note(kind: keyof typeof worst, error: number, where: string): void {
  if (error > worst[kind].error) worst[kind] = { error, where };
}

after(() => {
  for (const [kind, { error, where }] of Object.entries(worst)) {
    console.log(`worst ${kind}: ${error.toExponential(2)}${where ? ` (${where})` : ""}`);
  }
});

describe(`op gradients vs PyTorch ${fixture.torch} and finite differences`, () => {
  test("the fixture covers every op of the case table, and the table every op of the fixture", () => {
    assert.deepEqual(new Set(fixture.cases.map((c) => c.op)), new Set(Object.keys(OPS)));
  });

  for (const c of fixture.cases) {
    test(c.name, () => {
      torch.scope(() => {
        const inputs = Object.fromEntries(
          Object.entries(c.inputs).map(([k, v]) => [k, float64(v).requiresGrad_()] as const),
        );
        const weight = float64(c.weight);
        const out = run(c, inputs);

        assert.deepEqual(out.shape, c.output.shape, "output shape");
        const outError = relativeError(float64Data(out), c.output.data);
        note("outputVsPytorch", outError, c.name);
        assert.ok(outError <= VS_PYTORCH, `output differs from PyTorch by ${outError}`);

        const names = Object.keys(inputs);
        const grads = torch.grad(out.mul(weight).sum(), Object.values(inputs));
        names.forEach((name, i) => {
          const g = grads[i]!;
          const expected = c.grads[name]!;
          assert.deepEqual(g.shape, expected.shape, `d/d${name} shape`);
          const ours = float64Data(g);
          const vsPytorch = relativeError(ours, expected.data);
          note("gradVsPytorch", vsPytorch, `${c.name} d/d${name}`);
          assert.ok(vsPytorch <= VS_PYTORCH, `d/d${name} differs from PyTorch by ${vsPytorch}`);

          const vsFd = relativeError(ours, finiteDifferences(c, name, weight));
          note("gradVsFiniteDifferences", vsFd, `${c.name} d/d${name}`);
          assert.ok(vsFd <= VS_FINITE_DIFFERENCES, `d/d${name} differs from finite differences by ${vsFd}`);
        });
      });
    });
  }
});
