// Training resumes exactly: a run killed (SIGKILL, in a child process) after its epoch-1 checkpoint and resumed
// in this process ends with weights, buffers, momentum and history bit-identical to an uninterrupted run. The
// checkpoint file always decodes while it is being replaced; a checkpoint of another seed or recipe, or with a
// flipped bit, is refused.
// Also: evaluate() against a hand-computed argmax count and confusion matrix.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { buildBatch } from "../../src/data/index.js";
import type { Module } from "../../src/nn/index.js";
import {
  decodeSafetensors,
  encodeSafetensors,
  F,
  getNumThreads,
  noGrad,
  scope,
  type Tensor,
} from "../../src/torch/index.js";
import { type EpochRecord, encodeCheckpoint, evaluate, train } from "../../src/train/index.js";
import { DATA_SEED, makeModel, RUN_SEED, runRecipe, syntheticDataset, TRAIN_COUNT } from "./synthetic.js";

const CHILD = fileURLToPath(new URL("./resume-child.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "advpoison-resume-"));
after(() => rmSync(work, { recursive: true, force: true }));

const data = syntheticDataset(TRAIN_COUNT, DATA_SEED);
const r = runRecipe();

/** Every tensor's raw bytes by name. */
function bytesOf(tensors: Iterable<[string, Tensor]>): Map<string, Buffer> {
  return new Map([...tensors].map(([k, t]) => [k, Buffer.from(t.toBytes())]));
}

function decodeFile(path: string): { tensors: Map<string, Buffer>; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  const bytes = bytesOf(tensors);
  for (const t of tensors.values()) t.dispose();
  return { tensors: bytes, metadata };
}

/** Names whose bytes differ (or that only one side has). */
function differing(a: Map<string, Buffer>, b: Map<string, Buffer>): string[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((k) => !a.get(k) || !b.get(k) || !a.get(k)!.equals(b.get(k)!));
}

const comparable = (h: EpochRecord[]) => h.map(({ seconds: _, ...rest }) => rest);

interface Uninterrupted {
  model: Module;
  state: Map<string, Buffer>;
  checkpoint: Map<string, Buffer>;
  history: EpochRecord[];
}
let reference: Uninterrupted;
/** A copy of the killed run's epoch-1 checkpoint, for the tests after the resume. */
const epoch1 = join(work, "epoch1.safetensors");

before(async () => {
  const model = makeModel(RUN_SEED);
  const checkpoint = join(work, "uninterrupted.safetensors");
  const result = await train(model, data, { recipe: r, seed: RUN_SEED, checkpoint });
  assert.equal(result.resumedEpochs, 0);
  assert.equal(result.history.length, 3);
  const file = decodeFile(checkpoint);
  assert.equal(file.metadata.epochs_done, "3");
  reference = { model, state: bytesOf(model.stateDict()), checkpoint: file.tensors, history: result.history };
});
after(() => reference?.model.dispose());

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** epochs_done of every decode of the checkpoint while the child ran. */
  seen: number[];
}

/**
 * Runs resume-child.js, reading and fully decoding the checkpoint every few milliseconds, and SIGKILLs it as
 * soon as a checkpoint with epochs_done >= 1 is seen. A checkpoint that fails to decode fails the run.
 */
function runChildAndKill(checkpoint: string): Promise<ChildRun> {
  const child = spawn(process.execPath, [CHILD, checkpoint], {
    env: { ...process.env, ADVPOISON_THREADS: String(getNumThreads()) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const seen: number[] = [];
  return new Promise((resolve, reject) => {
    let failure: Error | undefined;
    const poll = setInterval(() => {
      if (!existsSync(checkpoint)) return;
      try {
        const { metadata } = decodeFile(checkpoint);
        const done = Number(metadata.epochs_done);
        seen.push(done);
        if (done >= 1) child.kill("SIGKILL");
      } catch (e) {
        failure = e as Error;
        child.kill("SIGKILL");
      }
    }, 3);
    const guard = setTimeout(() => {
      failure = new Error(`the child did not write its epoch-1 checkpoint within 120 s; stderr: ${stderr}`);
      child.kill("SIGKILL");
    }, 120_000);
    child.on("exit", (code, signal) => {
      clearInterval(poll);
      clearTimeout(guard);
      if (failure) reject(failure);
      else resolve({ code, signal, stdout, stderr, seen });
    });
  });
}

describe("training resume", () => {
  test("the uninterrupted run's checkpoint holds its final model and a momentum buffer per parameter", () => {
    const { checkpoint, state, model } = reference;
    const modelPart = new Map([...checkpoint].filter(([k]) => !k.startsWith("optimizer.")));
    assert.deepEqual(differing(modelPart, state), []);
    const momentum = [...checkpoint.keys()].filter((k) => k.startsWith("optimizer.momentum.")).sort();
    assert.equal(momentum.length, model.parameters().length);
    assert.equal(state.get("bn1.num_batches_tracked")!.readBigInt64LE(), 12n, "3 epochs of 4 batches");
  });

  test("a run killed after its epoch-1 checkpoint and resumed ends bit-identical to the uninterrupted run", async (t) => {
    const checkpoint = join(work, "killed.safetensors");
    const run = await runChildAndKill(checkpoint);
    assert.equal(run.signal, "SIGKILL", `child exited by itself (code ${run.code}): ${run.stderr}`);
    assert.ok(!run.stdout.includes("finished"), "the child finished before it was killed");
    t.diagnostic(
      `${run.seen.length} decodes of the checkpoint while the child ran; epochs_done seen: ${[...new Set(run.seen)]}`,
    );
    assert.ok(run.seen.length >= 1);
    assert.ok(
      run.seen.every((e) => e === 1),
      `epochs_done seen: ${run.seen}`,
    );
    // The kill left the epoch-1 checkpoint whole, and no temporary file behind.
    const killed = decodeFile(checkpoint);
    assert.equal(killed.metadata.epochs_done, "1");
    assert.deepEqual(readdirSync(work).sort(), ["killed.safetensors", "uninterrupted.safetensors"]);
    copyFileSync(checkpoint, epoch1);
    // The epoch-1 weights are not the final ones (the resume below has work to do).
    assert.ok(differing(killed.tensors, reference.checkpoint).length > 10);

    const model = makeModel(999); // a different initialisation: everything must come from the checkpoint
    try {
      const result = await train(model, data, { recipe: r, seed: RUN_SEED, checkpoint, resume: true });
      assert.equal(result.resumedEpochs, 1);
      assert.deepEqual(differing(bytesOf(model.stateDict()), reference.state), []);
      assert.deepEqual(differing(decodeFile(checkpoint).tensors, reference.checkpoint), []);
      // Epoch 1's record comes from the killed process's checkpoint, epochs 2-3 from this one: all equal.
      assert.deepEqual(comparable(result.history), comparable(reference.history));
    } finally {
      model.dispose();
    }
  });

  test("resuming without the momentum buffers does not reproduce the run (the comparison has teeth)", async () => {
    const file = decodeSafetensors(new Uint8Array(readFileSync(epoch1)));
    const stripped = join(work, "no-momentum.safetensors");
    const kept = new Map([...file.tensors].filter(([k]) => !k.startsWith("optimizer.")));
    assert.ok(kept.size < file.tensors.size);
    writeFileSync(stripped, encodeCheckpoint(kept, file.metadata));
    for (const t of file.tensors.values()) t.dispose();
    const model = makeModel(RUN_SEED);
    try {
      await train(model, data, { recipe: r, seed: RUN_SEED, checkpoint: stripped, resume: true });
      const diff = differing(bytesOf(model.stateDict()), reference.state);
      // Every parameter differs; the batch counters do not.
      assert.equal(diff.length, model.parameters().length + 4, diff.join(", "));
    } finally {
      model.dispose();
      rmSync(stripped);
    }
  });

  test("a checkpoint of another seed or recipe is refused, naming the file; checkpoint and model are left as they were", async () => {
    const copy = join(work, "other.safetensors");
    copyFileSync(epoch1, copy);
    const before = readFileSync(copy);
    const message = `${copy}: checkpoint was made with another recipe or seed; remove it or drop --resume`;
    const model = makeModel(RUN_SEED);
    const initial = bytesOf(model.stateDict());
    try {
      await assert.rejects(train(model, data, { recipe: r, seed: RUN_SEED + 1, checkpoint: copy, resume: true }), {
        message,
      });
      await assert.rejects(
        train(model, data, { recipe: { ...r, lr: r.lr * 2 }, seed: RUN_SEED, checkpoint: copy, resume: true }),
        { message },
      );
      await assert.rejects(
        train(model, data, { recipe: { ...r, epochs: 4 }, seed: RUN_SEED, checkpoint: copy, resume: true }),
        { message },
      );
      assert.ok(readFileSync(copy).equals(before), "a refused resume changed the checkpoint");
      assert.deepEqual(differing(bytesOf(model.stateDict()), initial), [], "a refused resume changed the model");
    } finally {
      model.dispose();
      rmSync(copy);
    }
  });

  test("a checkpoint with one flipped bit in its tensors, or without a checksum, is refused naming the file", async () => {
    const bytes = readFileSync(epoch1);
    const flipped = join(work, "flipped.safetensors");
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 3]! ^= 0x10;
    writeFileSync(flipped, damaged);
    const file = decodeSafetensors(new Uint8Array(bytes));
    const unsealed = join(work, "unsealed.safetensors");
    const { data_sha256: _, ...metadata } = file.metadata;
    writeFileSync(unsealed, encodeSafetensors(file.tensors, metadata));
    for (const t of file.tensors.values()) t.dispose();
    const model = makeModel(RUN_SEED);
    const initial = bytesOf(model.stateDict());
    try {
      await assert.rejects(train(model, data, { recipe: r, seed: RUN_SEED, checkpoint: flipped, resume: true }), {
        message: `${flipped}: checkpoint is damaged (its tensors do not match their checksum); remove it to start over`,
      });
      await assert.rejects(train(model, data, { recipe: r, seed: RUN_SEED, checkpoint: unsealed, resume: true }), {
        message: `${unsealed}: checkpoint has no checksum (an older advpoison wrote it); remove it to start over`,
      });
      assert.deepEqual(differing(bytesOf(model.stateDict()), initial), [], "a refused resume changed the model");
    } finally {
      model.dispose();
      rmSync(flipped);
      rmSync(unsealed);
    }
  });
});

describe("evaluate", () => {
  test("accuracy, per-class accuracy, loss and confusion matrix agree with a hand count", () => {
    const { model } = reference;
    assert.deepEqual(differing(bytesOf(model.stateDict()), reference.state), [], "the trained model was changed");
    const testSet = syntheticDataset(103, 77);
    // 103 = 2 * 48 + 7: the last batch is partial.
    const ev = evaluate(model, testSet, { batchSize: 48 });
    assert.equal(model.training, true, "evaluate() must restore train mode");

    const { predicted, loss } = noGrad(() =>
      scope(() => {
        model.eval();
        const all = Int32Array.from({ length: testSet.count }, (_, i) => i);
        const batch = buildBatch(testSet, all);
        const logits = model.forward(batch.x);
        const out = {
          predicted: logits.argmax(1).toArray(),
          loss: F.crossEntropy(logits, batch.y).item(),
        };
        model.train();
        return out;
      }),
    );
    const C = testSet.numClasses;
    const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
    let correct = 0;
    predicted.forEach((p, i) => {
      const label = testSet.labels[i]!;
      confusion[label]![p]!++;
      if (p === label) correct++;
    });
    assert.equal(ev.count, 103);
    assert.equal(ev.accuracy, correct / testSet.count);
    assert.deepEqual(ev.confusion, confusion);
    const classCounts = Array.from({ length: C }, (_, c) => testSet.labels.filter((l) => l === c).length);
    assert.deepEqual(
      ev.confusion.map((row) => row.reduce((a, b) => a + b, 0)),
      classCounts,
    );
    assert.deepEqual(
      ev.perClass,
      confusion.map((row, c) => row[c]! / classCounts[c]!),
    );
    assert.ok(Math.abs(ev.loss - loss) <= 1e-5 * loss, `loss ${ev.loss} vs ${loss}`);
    // Three epochs learn the squares: the comparison is over a real spread of predictions, not one class.
    assert.ok(ev.accuracy > 0.5, `accuracy ${ev.accuracy}`);
    assert.ok(new Set(predicted).size >= 3, `predictions: ${[...new Set(predicted)]}`);
  });
});
