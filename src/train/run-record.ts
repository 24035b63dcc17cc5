// run.json: what `advpoison train` records about a finished run, and reading it back (reports collect them).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { Precision } from "../torch/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { RUN_FILE } from "../util/ownership.js";
import { type TestAccuracies, testAccuracies } from "./accuracy.js";
import type { Recipe } from "./recipe.js";
import type { EpochRecord, TrainResult } from "./trainer.js";

export { RUN_FILE };

/** test_acc is the last epoch's clean test accuracy, peak_test_acc the best epoch's (peak_epoch). */
export interface TrainRunRecord extends TrainResult, TestAccuracies {
  /** The dataset spec trained on (a release is `NAME:DIR`). */
  dataset: string;
  subset: number | null;
  model: string;
  seed: number;
  recipe: Recipe;
  /** The training-time defence (`train --defense`); absent in records written before it existed. */
  defense?: { name: string; settings: object | null };
  /** What the forward passes computed in (records from before precisions existed are fp32). */
  precision: Precision;
}

// Only what readers rely on is checked; other fields pass through.
const EpochSchema = z.looseObject({ epoch: z.number(), testAcc: z.number().optional() });
const RecordSchema = z.looseObject({
  dataset: z.string(),
  model: z.string(),
  test_acc: z.number().nullable(),
  peak_test_acc: z.number().nullable().optional(),
  peak_epoch: z.number().nullable().optional(),
  precision: z.enum(["fp32", "bf16"]).optional(),
  seconds: z.number(),
  history: z.array(EpochSchema),
});

export function writeRunRecord(dir: string, record: TrainRunRecord): void {
  writeFileAtomic(join(dir, RUN_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/** The record in `dir`/run.json; a clear error if it is missing or malformed. */
export function readRunRecord(dir: string): TrainRunRecord {
  const path = join(dir, RUN_FILE);
  if (!existsSync(path)) throw new Error(`${dir}: no ${RUN_FILE}; not a finished \`advpoison train\` run`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf-8"));
  } catch (e) {
    throw new Error(`${path}: unreadable (${(e as Error).message})`);
  }
  const parsed = RecordSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${path}: ${issue.path.join(".") || "the record"}: ${issue.message}`);
  }
  const record = parsed.data as unknown as TrainRunRecord;
  const history = record.history as EpochRecord[];
  // JSON has no NaN: a run without a test set stored null. Records written before peak_test_acc existed
  // get it from their history.
  const derived = testAccuracies(history);
  return {
    ...record,
    test_acc: record.test_acc ?? Number.NaN,
    peak_test_acc: record.peak_test_acc ?? derived.peak_test_acc,
    peak_epoch: record.peak_epoch ?? derived.peak_epoch,
    precision: record.precision ?? "fp32",
    history,
  };
}
