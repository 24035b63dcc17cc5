// Engine benchmark: train step, PGD step (forward + input gradient of a frozen eval model) and inference for
// SmallCNN-BN (1x28x28) and CIFAR ResNet-18 (3x32x32) at batch 128, ours against PyTorch in one run, each in fp32
// and in its fast bf16 path (ours: autocast, channels-last, and for PGD/inference the folded frozen copy;
// PyTorch's: autocast + channels-last). Prints a table and a JSON line per case, times in seconds per step.
// BENCH_KINDS=pgd,forward also times the PGD step's forward pass alone (graph recorded), to split it.
// BENCH_DEVICE=cuda (or cuda:1) runs both sides on that GPU (default cpu); each timed step then ends by reading a
// scalar back, so that the time covers the GPU's work and not just its queueing (PyTorch's: torch.cuda.synchronize()).

import { createModel, prepareForCrafting } from "../src/models/index.js";
import type { Module } from "../src/nn/index.js";
import { SGD } from "../src/optim/index.js";
import {
  F,
  getNumThreads,
  grad,
  inPrecision,
  keep,
  manualSeed,
  noGrad,
  rand,
  randint,
  scope,
  type Tensor,
  zeros,
} from "../src/torch/index.js";
import { alternate, printPrecisionCase, type Timings, type Variant } from "./precision.js";
import { Reference } from "./reference.js";
import { median, medianMs } from "./timing.js";

interface Config {
  name: string;
  model: string;
  shape: number[];
  warmup: number;
  iters: number;
}

/** "forward" is a PGD step without its backward pass (profiling: backward = pgd - forward). */
type Kind = "train" | "pgd" | "forward" | "infer";
type Steps = Record<Kind, () => void>;

const device = process.env.BENCH_DEVICE ?? "cpu";
const onCpu = device === "cpu";
/** Waits for the device's queued work: a read of one element is ordered after it (nothing to wait for on the CPU). */
const probe = onCpu ? undefined : keep(zeros([1], { device }));
const sync = (): void => void probe?.item();

/** The three steps of one model in one variant, built once and reused across rounds. */
function steps({ model: name, shape }: Config, variant: Variant): Steps {
  manualSeed(0);
  const spec = { inChannels: shape[1]!, numClasses: 10, imageSize: shape[2]! };
  const model: Module = createModel(name, spec);
  if (!onCpu) model.to(device);
  const bf16 = variant === "bf16";
  if (bf16) model.to({ memoryFormat: "channels_last" });
  const x = keep(rand(shape, onCpu ? {} : { device }));
  const xTrain = bf16 ? keep(x.contiguous("channels_last")) : x;
  const y = keep(randint(0, 10, [shape[0]!], onCpu ? undefined : device));
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  const eps = 8 / 255;
  const step = 0.1 * eps;
  const target = keep(y.add(1).remainder(10));
  const lo = keep(x.sub(eps));
  const hi = keep(x.add(eps));
  let xAdv: Tensor = keep(x.clone());
  // Frozen copies are made from the model as it is when PGD or inference first runs.
  let frozen: Module | undefined;
  const crafter = (): Module => {
    model.eval().requiresGrad_(false);
    frozen ??= bf16 ? prepareForCrafting(model, { precision: "bf16" }) : model;
    return frozen;
  };
  return {
    train: () =>
      scope(() => {
        model.train().requiresGrad_(true);
        const logits = inPrecision(variant, onCpu ? undefined : device, () => model.forward(xTrain));
        const loss = F.crossEntropy(logits, y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        sync();
      }),
    pgd: () => {
      const m = crafter();
      const next = scope(() => {
        const input = xAdv.detach().requiresGrad_(true);
        const [g] = grad(F.crossEntropy(m.forward(input), target), input);
        return noGrad(() => input.sub(g!.sign(), step).clamp(lo, hi).clamp(0, 1));
      });
      xAdv.dispose();
      xAdv = keep(next);
      sync();
    },
    forward: () => {
      const m = crafter();
      scope(() => F.crossEntropy(m.forward(xAdv.detach().requiresGrad_(true)), target));
      sync();
    },
    infer: () => {
      const m = crafter();
      scope(() => noGrad(() => m.forward(x).argmax(1)));
      sync();
    },
  };
}

const only = process.argv[2] ?? "";
const small = Number(process.env.BENCH_ITERS_SMALL ?? 10);
const large = Number(process.env.BENCH_ITERS_LARGE ?? 1);
const kinds = (process.env.BENCH_KINDS ?? "train,pgd,infer").split(",") as Kind[];
const configs: Config[] = [
  { name: "smallcnn", model: "smallcnn-bn", shape: [128, 1, 28, 28], warmup: 5, iters: small },
  { name: "resnet18", model: "resnet18", shape: [128, 3, 32, 32], warmup: 1, iters: large },
].filter((c) => !only || c.name === only);

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const threads = getNumThreads();
const reference = new Reference("bench/reference/engine.py", ["--threads", String(threads), "--device", device]);
const results: [string, Timings][] = [];
for (const c of configs) {
  const built = { fp32: steps(c, "fp32"), bf16: steps(c, "bf16") };
  for (const kind of kinds) {
    // Warm-up only in the first round; after that both sides are hot.
    const warmup = (r: number) => (r === 0 ? c.warmup : 0);
    const t = await alternate(
      rounds,
      (v, r) => medianMs(built[v][kind], warmup(r), c.iters) / 1000,
      async (v, r) => ((await reference.ask(`${c.name}.${kind}.${v} ${warmup(r)} ${c.iters}`)).ms as number) / 1000,
    );
    results.push([`engine.${kind}.${c.name}${onCpu ? "" : `.${device}`}`, t]);
  }
}
reference.close();

console.log(
  `engine benchmark: batch 128, ${onCpu ? `${threads} threads` : device}, median of ${rounds} alternating rounds, ms per step (PyTorch = python3-torch)`,
);
const cols = ["ours fp32", "ours bf16", "torch fp32", "torch bf16"];
console.log(`${"case".padEnd(24)}${cols.map((c) => c.padStart(12)).join("")}`);
for (const [name, t] of results) {
  const ms = [t.ours_fp32, t.ours_bf16, t.torch_fp32, t.torch_bf16].map((xs) => (1000 * median(xs)).toFixed(1));
  console.log(`${name.padEnd(24)}${ms.map((v) => v.padStart(12)).join("")}`);
}
for (const [name, t] of results) printPrecisionCase(name, t);
