// Autocast regions (dtypes inside, nesting, restoring state after errors), channels-last layout, the CPU bf16
// capability parser, and how a precision choice resolves on devices with and without native bf16.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as torch from "../../src/torch/index.js";
import { hardwareHas } from "../requirements.js";

const { F } = torch;

function convOut(): torch.Tensor {
  return F.conv2d(torch.rand([2, 3, 8, 8]), torch.rand([4, 3, 3, 3]));
}

describe("autocast", () => {
  test("conv runs in bfloat16 inside a CPU region and in float32 outside", () => {
    assert.equal(
      torch.autocast("cpu", "bfloat16", () => convOut().dtype),
      "bfloat16",
    );
    assert.equal(convOut().dtype, "float32");
    assert.equal(torch.isAutocastEnabled("cpu"), false);
  });

  test("a disabled region inside an enabled one computes in float32, and the outer region resumes", () => {
    const dtypes = torch.autocast("cpu", "bfloat16", () => {
      const inner = torch.autocast("cpu", "bfloat16", () => convOut().dtype, { enabled: false });
      return [inner, convOut().dtype, torch.isAutocastEnabled("cpu")];
    });
    assert.deepEqual(dtypes, ["float32", "bfloat16", true]);
    assert.equal(torch.isAutocastEnabled("cpu"), false);
  });

  test("an error inside a region leaves autocast off and the dtype as it was", () => {
    const before = torch.autocastDtype("cpu");
    assert.throws(
      () =>
        torch.autocast("cpu", "bfloat16", () => {
          throw new Error("boom");
        }),
      /boom/,
    );
    assert.equal(torch.isAutocastEnabled("cpu"), false);
    assert.equal(torch.autocastDtype("cpu"), before);
    assert.equal(convOut().dtype, "float32");
  });

  test("float16 on the CPU and unknown devices are refused", () => {
    assert.throws(() => torch.autocast("cpu", "float16", () => 0), /CPU casts to bfloat16 only/);
    assert.throws(() => torch.autocast("mps", "bfloat16", () => 0), /device must be cpu or cuda/);
  });

  test("inPrecision: fp32 returns fn's own result, bf16 a float32 result close to it", () => {
    torch.manualSeed(1);
    const x = torch.rand([2, 3, 8, 8]);
    const w = torch.rand([4, 3, 3, 3]);
    const exact = F.conv2d(x, w);
    const same = torch.inPrecision("fp32", undefined, () => exact);
    assert.equal(same, exact);
    const low = torch.inPrecision("bf16", undefined, () => F.conv2d(x, w));
    assert.equal(low.dtype, "float32");
    assert.ok(!low.equal(exact), "bf16 rounding should change some values");
    assert.ok(low.allclose(exact, 2e-2, 5e-2));
  });
});

describe("channels-last", () => {
  test("contiguous and to lay 4-D tensors out channels-last without changing the values", () => {
    const x = torch.rand([2, 3, 4, 5]);
    assert.equal(x.isContiguous(), true);
    assert.equal(x.isContiguous("channels_last"), false);
    const cl = x.contiguous("channels_last");
    assert.equal(cl.isContiguous("channels_last"), true);
    assert.equal(cl.isContiguous(), false);
    assert.deepEqual(cl.shape, [2, 3, 4, 5]);
    assert.deepEqual(cl.toArray(), x.toArray());
    const viaTo = x.to({ memoryFormat: "channels_last" });
    assert.equal(viaTo.isContiguous("channels_last"), true);
    assert.equal(viaTo.contiguous("contiguous_format").isContiguous(), true);
  });

  test("to() restrides a one-channel weight, which contiguous() keeps, so convs then run channels-last", () => {
    const x = torch.rand([2, 1, 6, 6]);
    const w = torch.rand([4, 1, 3, 3]);
    assert.equal(w.isContiguous("channels_last"), true, "one channel: contiguous in both formats");
    assert.equal(F.conv2d(x, w.contiguous("channels_last")).isContiguous("channels_last"), false);
    assert.equal(F.conv2d(x, w.to({ memoryFormat: "channels_last" })).isContiguous("channels_last"), true);
  });

  test("channels-last needs a 4-D tensor; an unknown format is named", () => {
    assert.throws(() => torch.rand([3, 4, 5]).contiguous("channels_last"), /contiguous: .*rank 4/);
    assert.throws(
      () => torch.rand([1, 1, 1, 1]).contiguous("nhwc" as torch.MemoryFormat),
      /unknown memory format 'nhwc'/,
    );
  });
});

describe("bf16 capability", () => {
  const xeon = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile amx_bf16\n\nprocessor\t: 1\n";
  test("the cpuinfo parser finds avx512_bf16 or amx_bf16 in the flags line, and nothing else", () => {
    assert.equal(torch.cpuinfoHasBf16(xeon), true);
    assert.equal(torch.cpuinfoHasBf16("flags\t: fpu avx512f amx_bf16\n"), true);
    assert.equal(torch.cpuinfoHasBf16("flags\t: fpu avx2 avx512f avx512bw avx512_vnni\n"), false);
    assert.equal(torch.cpuinfoHasBf16("flags\t: fpu avx512_bf16x\n"), false);
    assert.equal(torch.cpuinfoHasBf16("model name\t: avx512_bf16 in a name\n"), false);
    assert.equal(torch.cpuinfoHasBf16(""), false);
  });

  test("resolvePrecision: fp32 as asked, auto falls back, bf16 without support is a clear error", () => {
    const yes = () => true;
    const no = () => false;
    assert.equal(torch.resolvePrecision("fp32", undefined, yes), "fp32");
    assert.equal(torch.resolvePrecision("fp32", undefined, no), "fp32");
    assert.equal(torch.resolvePrecision("auto", undefined, yes), "bf16");
    assert.equal(torch.resolvePrecision("auto", undefined, no), "fp32");
    assert.equal(torch.resolvePrecision("bf16", "cuda:1", yes), "bf16");
    assert.throws(
      () => torch.resolvePrecision("bf16", undefined, no),
      /precision bf16: device 'cpu' has no native bf16 support \(needs a CPU with AVX512-BF16 or AMX\)/,
    );
    assert.throws(() => torch.resolvePrecision("bf16", "cuda:1", no), /'cuda:1' .*compute capability >= 8/);
    assert.throws(() => torch.resolvePrecision("fp16", undefined, yes), /must be one of fp32, bf16, auto/);
  });

  test("secondOrderError: fp32 can; a bf16 verdict asked inside noGrad is the kernels' own", {
    skip: hardwareHas(torch.bf16Supported("cpu"), "native bf16 (AVX512-BF16 or AMX)"),
  }, () => {
    assert.equal(torch.secondOrderError("fp32", "cpu"), null);
    // First call of this process (the answer is cached per device), made where grad is off.
    const probed = torch.noGrad(() => torch.secondOrderError("bf16", "cpu"));
    // A conv double backward of the probe's shape, run directly with grad on: the same verdict, word for word.
    let direct: string | null = null;
    try {
      torch.scope(() => {
        const x = torch.rand([2, 1, 4, 4]).requiresGrad_(true);
        const w = torch.rand([2, 1, 3, 3]).requiresGrad_(true);
        const y = torch.inPrecision("bf16", "cpu", () => F.conv2d(x, w, undefined, { padding: 1 }));
        const [g] = torch.grad(y.pow(2).sum(), w, { createGraph: true });
        torch.grad(g!.pow(2).sum(), x);
      });
    } catch (e) {
      direct = (e as Error).message.split("\n")[0]!;
    }
    assert.equal(probed, direct);
  });

  test("CUDA without a CUDA libtorch has no bf16", { skip: torch.cudaIsAvailable() && "a GPU is present" }, () => {
    assert.equal(torch.bf16Supported("cuda"), false);
  });
});
