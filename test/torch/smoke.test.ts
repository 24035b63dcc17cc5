import assert from "node:assert/strict";
import { test } from "node:test";
import * as torch from "../../src/torch/index.js";

test("a tensor round-trips through libtorch", () => {
  const t = torch.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.dtype, "float32");
  assert.deepEqual(t.mul(2).toArray(), [2, 4, 6, 8, 10, 12]);
});
