// Engine benchmark: train step, PGD step and inference for SmallCNN (1x28x28) and CIFAR ResNet-18 (3x32x32)
// at batch 128, ours against the same steps in PyTorch, in one run. Prints a table and a JSON line per case.

import { resnet18, SmallCNN } from "../src/models/index.js";
import type { Module } from "../src/nn/index.js";
import { SGD } from "../src/optim/index.js";
import {
  F,
  getNumThreads,
  grad,
  keep,
  manualSeed,
  noGrad,
  rand,
  randint,
  scope,
  type Tensor,
} from "../src/torch/index.js";
import { Reference } from "./reference.js";
import { median, medianMs, printCase } from "./timing.js";

interface Config {
  name: string;
  model: () => Module;
  shape: number[];
  warmup: number;
  iters: number;
}

type Steps = Record<"train" | "pgd" | "infer", () => void>;

/** The three steps of one model, built once and reused across rounds. */
function steps({ model: make, shape }: Config): Steps {
  manualSeed(0);
  const model = make();
  const x = keep(rand(shape));
  const y = keep(randint(0, 10, [shape[0]!]));
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  const eps = 8 / 255;
  const step = 0.1 * eps;
  const target = keep(y.add(1).remainder(10));
  const lo = keep(x.sub(eps));
  const hi = keep(x.add(eps));
  let xAdv: Tensor = keep(x.clone());
  return {
    train: () =>
      scope(() => {
        model.train().requiresGrad_(true);
        const loss = F.crossEntropy(model.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
      }),
    pgd: () => {
      const next = scope(() => {
        model.eval().requiresGrad_(false);
        const input = xAdv.detach().requiresGrad_(true);
        const [g] = grad(F.crossEntropy(model.forward(input), target), input);
        return noGrad(() => input.sub(g!.sign(), step).clamp(lo, hi).clamp(0, 1));
      });
      xAdv.dispose();
      xAdv = keep(next);
    },
    infer: () =>
      scope(() => {
        model.eval();
        noGrad(() => model.forward(x).argmax(1));
      }),
  };
}

const only = process.argv[2] ?? "";
const small = Number(process.env.BENCH_ITERS_SMALL ?? 10);
const large = Number(process.env.BENCH_ITERS_LARGE ?? 1);
const configs: Config[] = [
  {
    name: "smallcnn",
    model: () => new SmallCNN({ inChannels: 1, numClasses: 10, imageSize: 28, batchNorm: true }),
    shape: [128, 1, 28, 28],
    warmup: 5,
    iters: small,
  },
  {
    name: "resnet18",
    model: () => resnet18({ inChannels: 3, numClasses: 10, imageSize: 32 }),
    shape: [128, 3, 32, 32],
    warmup: 1,
    iters: large,
  },
].filter((c) => !only || c.name === only);

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const threads = getNumThreads();
const reference = new Reference("bench/reference/engine.py", ["--threads", String(threads)]);
const ours: Record<string, number> = {};
const torch: Record<string, number> = {};
for (const c of configs) {
  const s = steps(c);
  for (const kind of ["train", "pgd", "infer"] as const) {
    const name = `${c.name}.${kind}`;
    const mine: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Warm-up only in the first round; after that both sides are hot.
      const warmup = r === 0 ? c.warmup : 0;
      mine.push(medianMs(s[kind], warmup, c.iters));
      theirs.push((await reference.ask(`${name} ${warmup} ${c.iters}`)).ms as number);
    }
    ours[name] = median(mine);
    torch[name] = median(theirs);
  }
}
reference.close();

console.log(
  `engine benchmark: batch 128, ${threads} threads, median of ${rounds} alternating rounds, ms per step (PyTorch = python3-torch)`,
);
console.log(`${"case".padEnd(18)}${"ours".padStart(10)}${"torch".padStart(10)}${"ratio".padStart(8)}`);
for (const [name, ms] of Object.entries(ours)) {
  const ref = torch[name] ?? Number.NaN;
  console.log(
    `${name.padEnd(18)}${ms.toFixed(1).padStart(10)}${ref.toFixed(1).padStart(10)}${(ms / ref).toFixed(3).padStart(8)}`,
  );
}
for (const [name, ms] of Object.entries(ours)) {
  const ref = torch[name] ?? Number.NaN;
  printCase({ case: name, ours_ms: +ms.toFixed(2), torch_ms: +ref.toFixed(2), ratio: +(ms / ref).toFixed(3) });
}
