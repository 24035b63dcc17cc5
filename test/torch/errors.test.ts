// Bad calls must surface as JS exceptions that say which op failed and why; none may take the process down
// (every case below runs in this one process, and the last test checks the library still works after them).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as torch from "../../src/torch/index.js";

const { F } = torch;

const long = (...v: bigint[]): torch.Tensor => torch.tensor(BigInt64Array.from(v));

function disposed(): torch.Tensor {
  const t = torch.ones([2]);
  t.dispose();
  return t;
}

/** Lies to the type checker the way an untyped JS caller would. */
const unchecked = <T>(v: unknown): T => v as T;

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError;

function throwsClearly(fn: () => unknown, kind: ErrorClass, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof kind, `expected a ${kind.name}, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

describe("mismatched shapes", () => {
  test("matmul of inner dims that differ", () => {
    throwsClearly(
      () => torch.ones([2, 3]).matmul(torch.ones([2, 3])),
      Error,
      /^matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)/,
    );
  });
  test("add of shapes that do not broadcast", () => {
    throwsClearly(
      () => torch.ones([2, 3]).add(torch.ones([4])),
      Error,
      /^add: The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1/,
    );
  });
  test("conv2d with a weight for other input channels", () => {
    throwsClearly(
      () => F.conv2d(torch.ones([1, 3, 5, 5]), torch.ones([2, 4, 3, 3])),
      Error,
      /^conv2d: .*weight of size \[2, 4, 3, 3\], expected input\[1, 3, 5, 5\] to have 4 channels, but got 3/,
    );
  });
  test("reshape to a different element count", () => {
    throwsClearly(() => torch.ones([2, 3]).reshape(4), Error, /^reshape: shape '\[4\]' is invalid for input of size 6/);
  });
  test("batch norm statistics of the wrong length", () => {
    throwsClearly(
      () =>
        F.batchNorm(torch.ones([2, 3]), { training: true, runningMean: torch.zeros([4]), runningVar: torch.ones([4]) }),
      Error,
      /^batchNorm: running_mean should contain 3 elements not 4/,
    );
  });
  test("a dim out of range", () => {
    throwsClearly(() => torch.ones([2, 3]).sum(5), Error, /^sum: Dimension out of range .* but got 5/);
  });
});

describe("wrong dtypes", () => {
  test("cross-entropy with float targets whose shape is not the logits' (so they must be indices)", () => {
    throwsClearly(
      () => F.crossEntropy(torch.ones([2, 3]), torch.ones([2])),
      Error,
      /^crossEntropy: expected scalar type Long but found Float/,
    );
  });
  test("cross-entropy with int32 class indices", () => {
    throwsClearly(
      () => F.crossEntropy(torch.ones([2, 3]), torch.tensor(new Int32Array([0, 1]))),
      Error,
      /^crossEntropy: expected scalar type Long but found Int/,
    );
  });
  test("cross-entropy with a class index past the number of classes", () => {
    throwsClearly(
      () => F.crossEntropy(torch.ones([2, 3]), long(0n, 5n)),
      Error,
      /^crossEntropy: Target 5 is out of bounds/,
    );
  });
  test("conv2d on int64 input with float weights", () => {
    throwsClearly(
      () => F.conv2d(torch.ones([1, 1, 5, 5], { dtype: "int64" }), torch.ones([2, 1, 3, 3])),
      Error,
      /^conv2d: expected scalar type Long but found Float/,
    );
  });
  test("index_select with float indices", () => {
    throwsClearly(
      () => torch.zeros([2, 3]).indexSelect(0, torch.ones([1])),
      Error,
      /^indexSelect: .*Expected dtype int32 or int64 for index/,
    );
  });
  test("masked_fill with a float mask", () => {
    assert.throws(
      () => torch.zeros([3]).maskedFill(torch.tensor([0, 1, 0.5]), 7),
      /maskedFill: mask must be a bool tensor/,
    );
  });
  test("bool data that is not 0 or 1", () => {
    assert.throws(
      () => torch.tensor(new Uint8Array([2, 0]), [2], { dtype: "bool" }),
      /fromBytes: bool data must be 0 or 1/,
    );
  });
});

describe("disposed tensors", () => {
  test("as an argument", () => {
    throwsClearly(
      () => torch.ones([2]).add(disposed()),
      Error,
      /^add: argument 1: tensor was disposed and cannot be used/,
    );
    throwsClearly(() => F.cat([torch.ones([2]), disposed()]), Error, /^cat: argument 0: tensor was disposed/);
  });
  test("as the receiver of a method", () => {
    const t = disposed();
    throwsClearly(() => t.add(1), Error, /^add: argument 0: tensor was disposed and cannot be used/);
    throwsClearly(() => t.item(), Error, /^item: argument 0: tensor was disposed/);
    throwsClearly(() => t.shape, Error, /^shape: argument 0: tensor was disposed/);
    throwsClearly(() => t.toTypedArray(), Error, /tensor was disposed/);
    throwsClearly(() => t.requiresGrad_(), Error, /^setRequiresGrad: argument 0: tensor was disposed/);
  });
  test("disposing twice is harmless", () => {
    const t = disposed();
    t.dispose();
    assert.equal(t.isDisposed, true);
  });
  test("a tensor freed by its scope", () => {
    let escaped: torch.Tensor | undefined;
    torch.scope(() => {
      escaped = torch.ones([2]);
    });
    throwsClearly(() => escaped!.mul(2), Error, /^mul: argument 0: tensor was disposed/);
  });
});

describe("wrong kinds of argument", () => {
  test("a string where a tensor is expected", () => {
    throwsClearly(() => torch.ones([2]).matmul(unchecked("x")), TypeError, /^matmul: argument 1: expected a tensor/);
    throwsClearly(() => F.conv2d(unchecked("x"), torch.ones([1])), TypeError, /^conv2d: argument 0: expected a tensor/);
  });
  test("a string where a tensor or a number is expected", () => {
    throwsClearly(() => torch.ones([2]).add(unchecked("x")), TypeError, /^add: argument 1: expected a number/);
  });
  test("a fractional dim", () => {
    throwsClearly(() => torch.ones([2, 3]).sum(0.5), TypeError, /^sum: argument 1: expected an array of integers/);
  });
  test("an unknown mode or reduction string", () => {
    throwsClearly(
      () => F.pad(torch.ones([1, 1, 3, 3]), [1, 1, 1, 1], unchecked("wrap")),
      RangeError,
      /^pad: unknown pad mode 'wrap'/,
    );
    throwsClearly(
      () => F.mseLoss(torch.ones([2]), torch.ones([2]), unchecked("avg")),
      RangeError,
      /^mseLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'/,
    );
  });
});

describe("bad data and metadata", () => {
  test("tensor() with a typed array that does not fill the shape", () => {
    throwsClearly(
      () => torch.tensor(new Float32Array(3), [2, 2]),
      RangeError,
      /^fromBytes: data has 12 bytes but shape and dtype need 16/,
    );
    throwsClearly(
      () => torch.tensor([1, 2, 3], [2, 2]),
      RangeError,
      /^fromBytes: data has 24 bytes but shape and dtype need 32/,
    );
  });
  test("tensor() with a typed array of another element size than the named dtype", () => {
    throwsClearly(
      () => torch.tensor(new Float32Array(2), [2], { dtype: "float64" }),
      TypeError,
      /^tensor\(\): a Float32Array cannot hold float64 data/,
    );
    throwsClearly(
      () => torch.tensor(new Uint16Array(2)),
      TypeError,
      /Uint16Array holds float16 or bfloat16 data: name the dtype/,
    );
  });
  test("item() on a tensor of several elements", () => {
    throwsClearly(
      () => torch.ones([2, 3]).item(),
      RangeError,
      /^item: item\(\) needs a tensor with one element, got 6/,
    );
  });
  test("unknown dtype strings", () => {
    throwsClearly(() => torch.zeros([2], { dtype: unchecked("float128") }), Error, /^zeros: unknown dtype 'float128'/);
    throwsClearly(() => torch.ones([2]).to(unchecked("complex64")), Error, /^to: unknown dtype 'complex64'/);
  });
  test("unknown device strings", () => {
    throwsClearly(
      () => torch.zeros([2], { device: "gpu" }),
      Error,
      /^zeros: Expected one of cpu, cuda.* device string: gpu/,
    );
    throwsClearly(
      () => torch.ones([2]).to({ device: "tpu:0" }),
      Error,
      /^to: Expected one of cpu, cuda.* device string: tpu/,
    );
  });
  test("a negative dimension", () => {
    throwsClearly(() => torch.zeros([-1]), Error, /^zeros: Trying to create tensor with negative dimension -1/);
  });
  test("indices out of range", () => {
    throwsClearly(
      () => torch.ones([2, 3]).gather(1, torch.tensor(new BigInt64Array([0n, 7n]), [2, 1])),
      Error,
      /^gather: index 7 is out of bounds for dimension 1 with size 3/,
    );
    throwsClearly(() => torch.ones([2, 3]).select(0, 9), Error, /^select: select\(\): index 9 out of range/);
    throwsClearly(() => torch.ones([2, 3]).indexSelect(0, long(5n)), Error, /^indexSelect: index out of range/);
  });
  test("gradients of something that does not require them", () => {
    throwsClearly(
      () => torch.grad(torch.ones([2]).sum(), torch.ones([2])),
      Error,
      /^gradOf: element 0 of tensors does not require grad/,
    );
  });
});

test("the library still works after all of the above", () => {
  assert.deepEqual(
    torch
      .ones([2, 2])
      .matmul(torch.ones([2, 1]))
      .toArray(),
    [2, 2],
  );
});
