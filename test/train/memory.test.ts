// A long run of training steps inside scope() holds its memory flat: every step allocates tens of MB of
// activations and gradients and frees them when its scope closes, and the addon's caching CPU allocator
// (native/cpu_allocator.cc) hands the same blocks back next step instead of growing the heap. A leak of even one
// activation tensor per step (1.6 MB or more here) would grow RSS by hundreds of MB over the run; so does turning
// the cache off (ADVPOISON_CPU_CACHE_MB=0: +436 MB over this run on a 2-core Debian 12 machine).
import assert from "node:assert/strict";
import { test } from "node:test";
import { DataLoader } from "../../src/data/index.js";
import { SmallCNN } from "../../src/models/index.js";
import { SGD } from "../../src/optim/index.js";
import { F, manualSeed, scope } from "../../src/torch/index.js";
import { native } from "../../src/torch/native.js";
import { syntheticDataset } from "./synthetic.js";

const STEPS = 300;
const WARMUP = 30;
const SLACK_MB = 40;

const MB = 1024 * 1024;
const cachedBytes = (): number => (native as unknown as { cachedBytes(): number }).cachedBytes();

test(`${STEPS} SmallCNN training steps on batches of 64 keep RSS flat after warm-up`, async (t) => {
  const data = syntheticDataset(256, 3);
  manualSeed(0);
  const model = new SmallCNN({ inChannels: 1, numClasses: 4, imageSize: 28, batchNorm: true });
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  const loader = new DataLoader(data, {
    batchSize: 64,
    shuffle: true,
    seed: 1,
    augment: { cropPadding: 2, flip: true },
  });
  let baseline = 0;
  let peak = 0;
  let firstLoss = 0;
  let lastLoss = 0;
  const started = performance.now();
  try {
    let step = 0;
    for (let epoch = 0; step < STEPS; epoch++) {
      for (const batch of loader.epoch(epoch)) {
        const loss = scope(() => {
          const logits = model.forward(batch.x);
          const l = F.crossEntropy(logits, batch.y);
          opt.zeroGrad();
          l.backward();
          opt.step();
          return l.item();
        });
        batch.dispose();
        step++;
        if (step === 1) firstLoss = loss;
        lastLoss = loss;
        // As the trainer does: the event loop gets a turn each step (N-API finalizers of collected handles run there).
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (step === WARMUP) baseline = process.memoryUsage.rss();
        if (step > WARMUP) peak = Math.max(peak, process.memoryUsage.rss());
        if (step === STEPS) break;
      }
    }
  } finally {
    opt.dispose();
    model.dispose();
  }
  const growth = (peak - baseline) / MB;
  t.diagnostic(
    `${STEPS} steps in ${((performance.now() - started) / 1000).toFixed(1)} s; RSS after warm-up ` +
      `${(baseline / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB (+${growth.toFixed(1)} MB); ` +
      `allocator cache ${(cachedBytes() / MB).toFixed(1)} MB; loss ${firstLoss.toFixed(3)} -> ${lastLoss.toFixed(3)}`,
  );
  // The steps did train (they were real steps, not no-ops).
  assert.ok(lastLoss < firstLoss / 2, `loss ${firstLoss} -> ${lastLoss}`);
  assert.ok(growth <= SLACK_MB, `RSS grew by ${growth.toFixed(1)} MB after warm-up (allowed ${SLACK_MB})`);
});
