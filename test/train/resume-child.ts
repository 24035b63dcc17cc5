// The child process of resume.test.ts (not a test itself): trains the shared run with a checkpoint. It hangs at
// the end of epoch 2, before that epoch's checkpoint is written, so that the parent's SIGKILL, sent once the
// epoch-1 checkpoint appears, always lands in epoch 2 however fast or slow the machine is.
//   node dist/test/train/resume-child.js CHECKPOINT
import type { Progress } from "../../src/train/index.js";
import { train } from "../../src/train/index.js";
import { DATA_SEED, makeModel, RUN_SEED, runRecipe, syntheticDataset, TRAIN_COUNT } from "./synthetic.js";

const checkpoint = process.argv[2];
if (!checkpoint) throw new Error("usage: resume-child.js CHECKPOINT");

const hangInEpoch2: Progress = {
  start(label, total) {
    return {
      update(done) {
        if (label.startsWith("epoch 2/") && done === total) {
          process.stdout.write("hanging\n");
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
        }
      },
      finish() {},
    };
  },
  log() {},
};

await train(makeModel(RUN_SEED), syntheticDataset(TRAIN_COUNT, DATA_SEED), {
  recipe: runRecipe(),
  seed: RUN_SEED,
  checkpoint,
  progress: hangInEpoch2,
});
process.stdout.write("finished\n");
