// The committed results are what readers and outside checks take from this repository: every efficacy row
// (results/fashion-mnist.json, written by scripts/experiments/record.mjs) and every labels row
// (results/labels.json) carries its victim's final and peak accuracy, its victim's epochs and the command that
// made it, and no row is recorded twice.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { z } from "zod";

const accuracy = z.number().min(0).max(1);
const command = z.string().min(1);

const efficacyRow = z
  .object({
    recipe: z.string().min(1),
    method: z.string().min(1),
    eps: z.number().int().min(0).max(255),
    steps: z.number().int().min(0),
    victim: z.string().min(1),
    victim_epochs: z.number().int().positive(),
    test_acc: accuracy,
    peak_test_acc: accuracy,
    peak_epoch: z.number().int().positive(),
    variant: z.string().min(1).optional(),
    settings: z.record(z.string(), z.unknown()),
    attack_success: accuracy.nullable(),
    command,
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    // How a resumed or sharded run's chunks were crafted, where craft_seconds counts only part of the work.
    note: z.string().min(1).optional(),
  })
  .refine((r) => r.method === r.recipe, "method and recipe differ")
  .refine((r) => r.peak_test_acc >= r.test_acc, "the peak is below the final accuracy")
  .refine((r) => r.peak_epoch <= r.victim_epochs, "peak epoch after the last epoch");

const labelsRow = z
  .object({
    eps: z.number().int().positive(),
    steps: z.number().int().positive(),
    augment: z.string().min(1),
    attack_success: accuracy,
    labels: z.enum(["original", "permuted", "predicted"]),
    test_acc: accuracy,
    peak_test_acc: accuracy,
    command,
  })
  .refine((r) => r.peak_test_acc >= r.test_acc, "the peak is below the final accuracy");

function rowsOf(file: string): unknown[] {
  const rows: unknown = JSON.parse(readFileSync(join(process.cwd(), "results", file), "utf-8"));
  assert.ok(Array.isArray(rows) && rows.length > 0, `${file}: not a non-empty array`);
  return rows;
}

/** Each row parsed by `schema`; a failure names the file, the row and the field. */
function parseAll<T>(file: string, schema: z.ZodType<T>, name: (row: unknown, i: number) => string): T[] {
  return rowsOf(file).map((row, i) => {
    const r = schema.safeParse(row);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      assert.fail(`${file} row ${name(row, i)}: ${issue.path.join(".") || "row"}: ${issue.message}`);
    }
    return r.data;
  });
}

const efficacyKey = (r: { recipe?: unknown; eps?: unknown; variant?: unknown }) =>
  `${r.recipe}|${r.eps}|${r.variant ?? ""}`;

test("results/fashion-mnist.json: every row has its final and peak accuracy, victim epochs and command, once", () => {
  const rows = parseAll("fashion-mnist.json", efficacyRow, (row, i) => `${i} (${efficacyKey(row as object)})`);
  const keys = rows.map(efficacyKey);
  assert.deepEqual(
    keys.filter((k, i) => keys.indexOf(k) !== i),
    [],
    "rows recorded twice",
  );
  // The baselines' rows at both radii (OPS: its one-pixel budget, recorded as 255).
  for (const want of ["error-min|8", "error-min|16", "tensorclog|8", "tensorclog|16", "lsp|8", "lsp|16", "ops|255"])
    assert.ok(
      rows.some((r) => `${r.recipe}|${r.eps}` === want),
      `no ${want} row`,
    );
});

test("results/labels.json: every row names its labelling, attack success, final and peak accuracy and command", () => {
  const rows = parseAll("labels.json", labelsRow, (_row, i) => String(i));
  assert.deepEqual(new Set(rows.map((r) => r.labels)), new Set(["original", "permuted", "predicted"]));
});
