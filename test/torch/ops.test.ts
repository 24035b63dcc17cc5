// The op tables of src/torch/ops.ts against the addon's macro tables: every listed op is a native function and a
// Tensor method, and each method computes what the native function does (in place: on the tensor itself).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as torch from "../../src/torch/index.js";
import { native } from "../../src/torch/native.js";
import { IN_PLACE_OPS, OPERAND_IN_PLACE_OPS, OPERAND_OPS, TENSOR_PAIR_OPS, UNARY_OPS } from "../../src/torch/ops.js";

const positive = () => torch.rand([2, 3]).add(0.5);

describe("op tables", () => {
  const tables = { UNARY_OPS, OPERAND_OPS, TENSOR_PAIR_OPS, IN_PLACE_OPS, OPERAND_IN_PLACE_OPS };
  for (const [table, names] of Object.entries(tables)) {
    test(`${table}: each op is exported by the addon and is a Tensor method`, () => {
      for (const op of names) {
        assert.equal(typeof (native as unknown as Record<string, unknown>)[op], "function", `addon lacks '${op}'`);
        assert.equal(typeof (torch.Tensor.prototype as unknown as Record<string, unknown>)[op], "function", op);
      }
    });
  }

  test("the methods compute what their native functions do", () => {
    const a = positive();
    const b = positive();
    for (const op of UNARY_OPS) assert.ok(a[op]().equal(new torch.Tensor(native[op](a.handle))), op);
    for (const op of OPERAND_OPS) {
      assert.ok(a[op](b).equal(new torch.Tensor(native[op](a.handle, b.handle))), `${op} tensor`);
      assert.ok(a[op](2).equal(new torch.Tensor(native[op](a.handle, 2))), `${op} number`);
    }
    const m = torch.rand([3, 2]);
    assert.ok(a.matmul(m).equal(new torch.Tensor(native.matmul(a.handle, m.handle))));
    assert.deepEqual(
      a.maximum(b).toArray(),
      a.toArray().map((x, i) => Math.max(x, b.toArray()[i]!)),
    );
  });

  test("in-place methods change the tensor itself and return it", () => {
    const a = torch.tensor([-1.5, 0, 2]);
    assert.equal(a.sign_(), a);
    assert.deepEqual(a.toArray(), [-1, 0, 1]);
    assert.equal(a.relu_(), a);
    assert.deepEqual(a.toArray(), [0, 0, 1]);
    assert.equal(a.mul_(3), a);
    assert.equal(a.div_(torch.tensor([1, 1, 2])), a);
    assert.deepEqual(a.toArray(), [0, 0, 1.5]);
    assert.equal(a.zero_(), a);
    assert.deepEqual(a.toArray(), [0, 0, 0]);
  });
});
