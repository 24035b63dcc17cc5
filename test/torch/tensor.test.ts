import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as torch from "../../src/torch/index.js";

describe("creation from typed arrays, and back", () => {
  const cases: [torch.DType, torch.TypedArray][] = [
    ["float32", new Float32Array([1.5, -2.25, 3.4e38, 1e-45])],
    ["float64", new Float64Array([Math.PI, -Number.MAX_VALUE, Number.MIN_VALUE])],
    ["int64", new BigInt64Array([-(2n ** 63n), -1n, 2n ** 53n + 1n, 2n ** 63n - 1n])],
    ["int32", new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1])],
    ["int16", new Int16Array([-32768, 1, 32767])],
    ["int8", new Int8Array([-128, 0, 127])],
    ["uint8", new Uint8Array([0, 128, 255])],
  ];
  for (const [dtype, data] of cases) {
    test(`${dtype} keeps every bit`, () => {
      const t = torch.tensor(data);
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, [data.length]);
      assert.equal(t.numel, data.length);
      assert.equal(t.device, "cpu");
      const back = t.toTypedArray();
      assert.equal(back.constructor, data.constructor);
      assert.deepEqual(back, data);
    });
  }

  test("bool from 0/1 bytes", () => {
    const t = torch.tensor(new Uint8Array([1, 0, 1, 1]), [2, 2], { dtype: "bool" });
    assert.equal(t.dtype, "bool");
    assert.deepEqual(t.toArray(), [1, 0, 1, 1]);
    assert.deepEqual(t.logicalNot().toArray(), [0, 1, 0, 0]);
    assert.equal(t.all().item(), 0);
    assert.equal(t.any().item(), 1);
  });

  test("float16 from raw words: 1, -2, 0.5, 65504, +inf, smallest subnormal", () => {
    const words = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0x0001]);
    const t = torch.tensor(words, [6], { dtype: "float16" });
    assert.equal(t.dtype, "float16");
    assert.deepEqual(t.toTypedArray(), words);
    assert.deepEqual(t.toArray(), [1, -2, 0.5, 65504, Infinity, 2 ** -24]);
  });

  test("bfloat16 from raw words: 1, -2, 0.5, 3.140625", () => {
    const words = new Uint16Array([0x3f80, 0xc000, 0x3f00, 0x4049]);
    const t = torch.tensor(words, [2, 2], { dtype: "bfloat16" });
    assert.equal(t.dtype, "bfloat16");
    assert.deepEqual(t.toTypedArray(), words);
    assert.deepEqual(t.toArray(), [1, -2, 0.5, 3.140625]);
  });

  test("a number array becomes float32 unless a dtype is named", () => {
    assert.equal(torch.tensor([1, 2]).dtype, "float32");
    const t = torch.tensor([0.1, 2, 3, 4, 5, 6], [2, 3], { dtype: "float64" });
    assert.deepEqual(t.shape, [2, 3]);
    assert.deepEqual(t.toArray(), [0.1, 2, 3, 4, 5, 6]);
    assert.deepEqual(torch.tensor([3, -4], [2], { dtype: "int32" }).toTypedArray(), new Int32Array([3, -4]));
  });

  test("a typed array view at an offset is read from its own first element", () => {
    const backing = new Float64Array([9, 9, 1, 2, 3]);
    assert.deepEqual(torch.tensor(backing.subarray(2)).toArray(), [1, 2, 3]);
  });

  test("shape, ndim, size() and 0-d tensors", () => {
    const t = torch.zeros([2, 3, 4]);
    assert.deepEqual(t.shape, [2, 3, 4]);
    assert.equal(t.ndim, 3);
    assert.equal(t.size(-1), 4);
    assert.throws(() => t.size(3), /size\(3\): tensor has 3 dimensions/);
    const s = torch.scalar(2.5);
    assert.deepEqual(s.shape, []);
    assert.equal(s.ndim, 0);
    assert.equal(s.item(), 2.5);
  });

  test("toBytes gives little-endian element bytes", () => {
    assert.deepEqual([...torch.tensor(new Int32Array([1, -2])).toBytes()], [1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
  });
});

describe("conversion", () => {
  test("to() a dtype converts values the way PyTorch does", () => {
    const f = torch.tensor(new Float32Array([1.7, -1.7, 300]));
    assert.deepEqual(f.to("int64").toTypedArray(), new BigInt64Array([1n, -1n, 300n]));
    assert.deepEqual(f.to("float16").toArray(), [1.7001953125, -1.7001953125, 300]);
    assert.deepEqual(f.to("bool").toArray(), [1, 1, 1]);
    assert.deepEqual(
      torch
        .tensor(new Float64Array([0.1]))
        .to("float32")
        .toArray(),
      [Math.fround(0.1)],
    );
    assert.equal(f.float().dtype, "float32");
    assert.equal(f.long().dtype, "int64");
  });

  test("clone copies, detach shares data", () => {
    const a = torch.zeros([2]);
    const c = a.clone();
    const d = a.detach();
    a.fill_(3);
    assert.deepEqual(c.toArray(), [0, 0]);
    assert.deepEqual(d.toArray(), [3, 3]);
  });
});

describe("factories", () => {
  test("arange: int64 for integer bounds, float for fractional ones", () => {
    const r = torch.arange(5);
    assert.equal(r.dtype, "int64");
    assert.deepEqual(r.toArray(), [0, 1, 2, 3, 4]);
    assert.deepEqual(torch.arange(2, 11, 3).toArray(), [2, 5, 8]);
    assert.deepEqual(torch.arange(3, 0, -1).toArray(), [3, 2, 1]);
    const f = torch.arange(0, 1, 0.25);
    assert.equal(f.dtype, "float32");
    assert.deepEqual(f.toArray(), [0, 0.25, 0.5, 0.75]);
    assert.equal(torch.arange(0, 4, 1, { dtype: "float64" }).dtype, "float64");
  });

  test("zeros, ones, full, empty and the *Like variants", () => {
    const z = torch.zeros([2, 3]);
    assert.equal(z.dtype, "float32");
    assert.deepEqual(z.toArray(), [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(torch.ones([2], { dtype: "int32" }).toTypedArray(), new Int32Array([1, 1]));
    assert.deepEqual(torch.full([3], 7.5, { dtype: "float64" }).toArray(), [7.5, 7.5, 7.5]);
    assert.deepEqual(torch.full([2], true, { dtype: "bool" }).toArray(), [1, 1]);
    assert.deepEqual(torch.empty([4, 0]).shape, [4, 0]);
    const like = torch.onesLike(torch.zeros([2, 2], { dtype: "float64" }));
    assert.equal(like.dtype, "float64");
    assert.deepEqual(like.toArray(), [1, 1, 1, 1]);
    assert.deepEqual(torch.zerosLike(like).toArray(), [0, 0, 0, 0]);
  });
});

describe("manualSeed", () => {
  const draws = {
    rand: () => torch.rand([5]).toArray(),
    randn: () => torch.randn([5], { dtype: "float64" }).toArray(),
    randint: () => torch.randint(0, 1000, [5]).toArray(),
    randperm: () => torch.randperm(8).toArray(),
  };
  for (const [name, draw] of Object.entries(draws)) {
    test(`${name} repeats under the same seed and changes under another`, () => {
      torch.manualSeed(1234);
      const first = draw();
      torch.manualSeed(1234);
      assert.deepEqual(draw(), first);
      torch.manualSeed(4321);
      assert.notDeepEqual(draw(), first);
    });
  }

  test("draws match PyTorch's for the same seed (same libtorch generator)", () => {
    // torch.manual_seed(0) then torch.rand(3), torch.randn(3), torch.randint(0, 10, (5,)), torch.randperm(6)
    torch.manualSeed(0);
    assert.deepEqual(torch.rand([3]).toArray(), [0.49625658988952637, 0.7682217955589294, 0.08847743272781372]);
    torch.manualSeed(0);
    assert.deepEqual(torch.randn([3]).toArray(), [1.5409960746765137, -0.293428897857666, -2.1787893772125244]);
    torch.manualSeed(0);
    assert.deepEqual(torch.randint(0, 10, [5]).toArray(), [4, 9, 3, 0, 3]);
    torch.manualSeed(0);
    assert.deepEqual(torch.randperm(6).toArray(), [2, 5, 3, 0, 1, 4]);
  });

  test("draws stay in range, and randperm is a permutation", () => {
    torch.manualSeed(7);
    const u = torch.rand([1000]).toArray();
    assert.ok(u.every((v) => v >= 0 && v < 1));
    const ints = torch.randint(-3, 4, [1000]).toArray();
    assert.ok(ints.every((v) => Number.isInteger(v) && v >= -3 && v < 4));
    assert.deepEqual(new Set(ints), new Set([-3, -2, -1, 0, 1, 2, 3]));
    assert.deepEqual(
      torch
        .randperm(50)
        .toArray()
        .sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });
});

describe("in-place ops", () => {
  test("return the very same object and change it", () => {
    const t = torch.tensor(new Float32Array([1, -2, 3]));
    const other = torch.tensor(new Float32Array([1, 1, 1]));
    assert.equal(t.add_(other), t);
    assert.deepEqual(t.toArray(), [2, -1, 4]);
    assert.equal(t.sub_(other, 2), t);
    assert.deepEqual(t.toArray(), [0, -3, 2]);
    assert.equal(t.mul_(2), t);
    assert.deepEqual(t.toArray(), [0, -6, 4]);
    assert.equal(t.div_(4), t);
    assert.deepEqual(t.toArray(), [0, -1.5, 1]);
    assert.equal(t.clamp_(-1, 0.5), t);
    assert.deepEqual(t.toArray(), [0, -1, 0.5]);
    assert.equal(t.sign_(), t);
    assert.deepEqual(t.toArray(), [0, -1, 1]);
    assert.equal(t.relu_(), t);
    assert.deepEqual(t.toArray(), [0, 0, 1]);
    assert.equal(t.addcmul_(other, other, 3), t);
    assert.deepEqual(t.toArray(), [3, 3, 4]);
    assert.equal(t.addcdiv_(other, t, 4), t);
    assert.deepEqual(t.toArray(), [3 + 4 / 3, 3 + 4 / 3, 5].map(Math.fround));
    assert.equal(t.copy_(other), t);
    assert.deepEqual(t.toArray(), [1, 1, 1]);
    assert.equal(t.fill_(9), t);
    assert.deepEqual(t.toArray(), [9, 9, 9]);
    assert.equal(t.zero_(), t);
    assert.deepEqual(t.toArray(), [0, 0, 0]);
  });

  test("write through views into the base tensor", () => {
    const base = torch.zeros([2, 3]);
    base.select(0, 1).fill_(5);
    base.slice(1, 0, 3, 2).add_(1);
    assert.deepEqual(base.toArray(), [1, 0, 1, 6, 5, 6]);
  });

  test("indexCopy_ and the random fills", () => {
    const t = torch.zeros([3, 2]);
    assert.equal(t.indexCopy_(0, torch.tensor(new BigInt64Array([2n, 0n])), torch.ones([2, 2]).mul(7)), t);
    assert.deepEqual(t.toArray(), [7, 7, 0, 0, 7, 7]);
    torch.manualSeed(3);
    const u = torch.empty([100]);
    assert.equal(u.uniform_(2, 3), u);
    assert.ok(u.toArray().every((v) => v >= 2 && v < 3));
    const b = torch.empty([100]);
    assert.equal(b.bernoulli_(0.5), b);
    assert.deepEqual(new Set(b.toArray()), new Set([0, 1]));
  });
});

describe("selection", () => {
  const t = torch.tensor(new Float32Array([1, 5, 3, 4, 2, 0]), [2, 3]);

  test("topk: values and indices along the last dim, largest or smallest", () => {
    const [values, indices] = t.topk(2);
    assert.deepEqual(values.shape, [2, 2]);
    assert.deepEqual(values.toArray(), [5, 3, 4, 2]);
    assert.equal(indices.dtype, "int64");
    assert.deepEqual(indices.toArray(), [1, 2, 0, 1]);
    const [smallest, where] = t.topk(1, 0, false);
    assert.deepEqual(smallest.toArray(), [1, 2, 0]);
    assert.deepEqual(where.toArray(), [0, 1, 1]);
  });

  test("argmax and argmin, flat and along a dim", () => {
    assert.deepEqual(t.argmax().toArray(), [1]);
    assert.deepEqual(t.argmax(1).toArray(), [1, 0]);
    assert.deepEqual(t.argmax(0, true).shape, [1, 3]);
    assert.deepEqual(t.argmin(1).toArray(), [0, 2]);
  });

  test("maxDim and minDim give values and indices", () => {
    const [maxValues, maxIndices] = t.maxDim(0);
    assert.deepEqual(maxValues.toArray(), [4, 5, 3]);
    assert.deepEqual(maxIndices.toArray(), [1, 0, 0]);
    const [minValues, minIndices] = t.minDim(1, true);
    assert.deepEqual(minValues.shape, [2, 1]);
    assert.deepEqual(minValues.toArray(), [1, 0]);
    assert.deepEqual(minIndices.toArray(), [0, 2]);
  });
});
