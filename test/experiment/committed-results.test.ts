// The committed results are what readers and outside checks take from this repository. Every file in results/ has
// a schema here that accepts exactly its rows' fields; every efficacy row agrees with the command it records (the
// environment of that command over the efficacy script's own defaults); every row says its victims' seeds and its
// thread count, or that they were not recorded and why (`provenance`); no row carries a path of the machine that
// made it; and the README's result tables are the ones scripts/experiments/readme-tables.mjs generates from the rows.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { z } from "zod";
import { commandMismatches, readEfficacyScript } from "./efficacy-command.js";

const accuracy = z.number().min(0).max(1);
const command = z.string().min(1);
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const count = z.number().int().nonnegative();
const seconds = z.number().nonnegative();

/**
 * Where a value the recording script did not write at run time comes from, per field: filled in afterwards from
 * the script or a note of the day, or, with the value null, why it is not known.
 */
const provenance = z
  .strictObject({
    victim_seed: z.string().min(1).optional(),
    victim_seeds: z.string().min(1).optional(),
    threads: z.string().min(1).optional(),
  })
  .optional();
type Provenance = z.infer<typeof provenance>;
/** A null value is only allowed with its reason. */
const explained =
  (field: "victim_seed" | "threads") =>
  (r: { victim_seed?: number | null; threads?: number | null; provenance?: Provenance }) =>
    r[field] !== null || r.provenance?.[field] !== undefined;
const threads = z.number().int().positive().nullable();

const efficacyRow = z
  .strictObject({
    recipe: z.string().min(1),
    method: z.string().min(1),
    eps: z.number().int().min(0).max(255),
    steps: count,
    budget: z.number().gt(0).max(1),
    victim: z.string().min(1),
    trainer: z.literal("pytorch").optional(),
    victim_epochs: z.number().int().positive(),
    victim_seed: count.nullable(),
    threads,
    test_acc: accuracy,
    peak_test_acc: accuracy,
    peak_epoch: z.number().int().positive(),
    variant: z.string().min(1).optional(),
    precision: z.enum(["fp32", "bf16"]),
    victim_precision: z.enum(["fp32", "bf16"]),
    subset: z.number().int().positive().optional(),
    release_images: z.number().int().positive().optional(),
    release: z.string().min(1).optional(),
    settings: z.record(z.string(), z.unknown()),
    attack_success: accuracy.nullable(),
    rounds: z.number().int().positive().optional(),
    min_min_acc: accuracy.optional(),
    craft_seconds: count.nullable(),
    victim_seconds: count,
    command,
    date,
    // How a resumed or sharded run's chunks were crafted, where craft_seconds counts only part of the work.
    note: z.string().min(1).optional(),
    provenance,
  })
  .refine((r) => r.method === r.recipe, "method and recipe differ")
  .refine((r) => r.peak_test_acc >= r.test_acc, "the peak is below the final accuracy")
  .refine((r) => r.peak_epoch <= r.victim_epochs, "peak epoch after the last epoch")
  .refine(explained("victim_seed"), "victim_seed is null without provenance.victim_seed")
  .refine(explained("threads"), "threads is null without provenance.threads");
type EfficacyRow = z.infer<typeof efficacyRow>;

const victimSeeds = z.array(count).min(1);
const labelsRow = z
  .strictObject({
    eps: z.number().int().positive(),
    steps: z.number().int().positive(),
    augment: z.union([z.string().min(1), z.literal(false)]),
    attack_success: accuracy,
    labels: z.enum(["original", "permuted", "predicted"]),
    test_acc: accuracy,
    peak_test_acc: accuracy,
    runs: z.number().int().positive(),
    subset: z.number().int().positive(),
    victim_epochs: z.number().int().positive(),
    victim_seeds: victimSeeds,
    threads,
    command,
    provenance,
  })
  .refine((r) => r.peak_test_acc >= r.test_acc, "the peak is below the final accuracy")
  .refine((r) => r.victim_seeds.length === r.runs, "one victim seed per run")
  .refine(explained("threads"), "threads is null without provenance.threads");

// One condition of an experiment; its other fields are the condition's table cells.
const summaryRow = z
  .looseObject({
    condition: z.string().min(1),
    runs: count,
    victim_epochs: z.number().int().positive().optional(),
    test_acc_mean: accuracy.nullable(),
    test_acc_sd: z.number().min(0).nullable(),
    test_accs: z.array(accuracy),
    peak_test_acc_mean: accuracy.nullable().optional(),
    peak_test_acc_sd: z.number().min(0).nullable().optional(),
    peak_test_accs: z.array(accuracy).optional(),
    attack_success: accuracy.nullable(),
    skipped: z.string().min(1).optional(),
  })
  .refine((r) => r.test_accs.length === r.runs, "test_accs has not one accuracy per run")
  .refine((r) => (r.runs === 0) === (r.test_acc_mean === null), "a mean without runs, or runs without a mean");
const experimentEntry = z
  .strictObject({
    scale: z.string().min(1),
    scale_note: z.string().min(1),
    updated: z.iso.datetime(),
    command,
    config: z.looseObject({
      experiment: z.string().min(1),
      seed: count,
      runs: z.number().int().positive(),
      poison: z.looseObject({ augmentKind: z.enum(["authors", "quarter"]).optional() }),
    }),
    threads,
    victim_seeds: victimSeeds,
    note: z.string().min(1).optional(),
    provenance,
    summary: z.array(summaryRow).min(1),
  })
  // src/experiment/runner.ts: the victim of run r (1-based) has seed config.seed + r.
  .refine(
    (e) => e.victim_seeds.join() === Array.from({ length: e.config.runs }, (_, i) => e.config.seed + i + 1).join(),
    "victim_seeds are not config.seed + 1 .. config.seed + config.runs",
  )
  .refine((e) => e.summary.every((r) => r.runs <= e.config.runs), "a condition with more victims than config.runs")
  .refine(explained("threads"), "threads is null without provenance.threads");

/** How many times faster ours is, as the bench prints it: PyTorch's seconds over ours, to 3 decimals. */
const speedup = (torch: number, ours: number) => +(torch / ours).toFixed(3);
const benchmarkRow = z.union([
  z
    .strictObject({
      case: z.string().regex(/^(craft|engine)\./),
      ours_fp32_s: z.number().positive(),
      ours_bf16_s: z.number().positive(),
      torch_fp32_s: z.number().positive(),
      torch_bf16_s: z.number().positive(),
      speedup_fp32_vs_torch_fp32: z.number().positive(),
      speedup_bf16_vs_torch_bf16: z.number().positive(),
      speedup_bf16_vs_torch_fp32: z.number().positive(),
      threads: z.number().int().positive(),
      command,
      date,
      note: z.string().min(1).optional(),
    })
    .refine(
      (r) =>
        r.speedup_fp32_vs_torch_fp32 === speedup(r.torch_fp32_s, r.ours_fp32_s) &&
        r.speedup_bf16_vs_torch_bf16 === speedup(r.torch_bf16_s, r.ours_bf16_s) &&
        r.speedup_bf16_vs_torch_fp32 === speedup(r.torch_fp32_s, r.ours_bf16_s),
      "a speedup is not PyTorch's seconds over ours",
    ),
  z.strictObject({
    case: z.string().regex(/^codec\./),
    photo: z.string().regex(/^\d+x\d+$/),
    photos: z.number().int().positive(),
    purejs_photos_per_s: z.number().positive(),
    sharp_photos_per_s: z.number().positive(),
    speedup: z.number().positive(),
    sharp_threads: z.number().int().positive(),
    command,
    date,
    note: z.string().min(1).optional(),
  }),
]);

const streamMemoryRow = z.strictObject({
  case: z.enum(["stream-memory.train", "stream-memory.craft", "stream-memory.verify"]),
  mode: z.enum(["stream", "memory"]),
  images: z.number().int().positive(),
  test_images: z.number().int().positive(),
  side: z.number().int().positive(),
  method: z.string().min(1).optional(),
  steps: z.number().int().positive().optional(),
  eps: z.number().positive().optional(),
  peak_rss_mib: z.number().positive(),
  seconds,
  generate_seconds: seconds,
  threads: z.number().int().positive(),
  date,
  command,
});

const protectRow = z
  .strictObject({
    crafter: z.string().min(1),
    crafter_test_acc: accuracy,
    input_side: z.number().int().positive(),
    method: z.enum(["targeted", "untargeted"]),
    jpeg_quality: z.number().int().min(1).max(100),
    steps: z.number().int().positive(),
    views: z.number().int().positive(),
    resumed: count,
    count: z.number().int().positive(),
    skipped: count,
    max_linf: z.number().min(0).max(255),
    same_sizes: z.boolean(),
    attack_success: accuracy,
    attack_success_before_encoding: accuracy,
    mean_psnr: z.number().positive(),
    mean_ssim: z.number().min(-1).max(1),
    mean_kept: z.number().min(0),
    seconds,
    skipped_files: z.array(z.string()),
    verify_ok: z.boolean(),
    threads,
    command,
    date,
    note: z.string().min(1).optional(),
    provenance,
  })
  .refine((r) => r.skipped_files.length === r.skipped, "skipped and skipped_files disagree")
  .refine(explained("threads"), "threads is null without provenance.threads");

const auditRow = z.strictObject({
  defense: z.string().min(1),
  settings: z.string().min(1),
  victim: z.string().min(1),
  seeds: z.number().int().positive(),
  final: accuracy,
  final_sd: z.number().nonnegative(),
  stopped: accuracy,
  stopped_sd: z.number().nonnegative(),
  stopped_epoch: z.number().int().positive(),
  stopped_epochs: z.array(z.number().int().positive()).min(1),
  clean_final: accuracy,
  clean_final_sd: z.number().nonnegative(),
  clean_stopped: accuracy,
  clean_stopped_sd: z.number().nonnegative(),
});

/** Rounded as the recording script rounds (4 digits), so derived numbers agree to within that. */
const close = (a: number, b: number) => Math.abs(a - b) < 2e-4;

const auditEntry = z
  .strictObject({
    release: z.strictObject({
      id: z.string().min(1),
      method: z.string().min(1),
      eps: z.number().int().min(0).max(255),
      subset: z.number().int().positive().nullable(),
      steps: count,
      options: z.record(z.string(), z.unknown()),
      /** The levers of a release crafted to hold against the audit, in words. */
      label: z.string().min(1).optional(),
    }),
    worst_case_acc: accuracy,
    worst_case: z.strictObject({ defense: z.string().min(1), victim: z.string().min(1) }),
    clean_acc: accuracy,
    protection: z.number().min(-1).max(1),
    plain_stopped_acc: accuracy,
    rows: z.array(auditRow).min(1),
    skipped: z.array(z.strictObject({ defense: z.string(), victim: z.string(), reason: z.string().min(1) })),
    /** What of the perturbation each defence that is a function of the images passes; "none" first. */
    survival: z
      .array(z.strictObject({ defense: z.string().min(1), changed: accuracy, mean_abs: z.number().min(0).max(255) }))
      .min(1)
      .refine((rows) => rows[0]!.defense === "none", "survival starts with the release as it is")
      .optional(),
    defenses: z.array(z.string().min(1)).min(1),
    victims: z.array(z.string().min(1)).min(1),
    epochs: z.number().int().positive(),
    split: z.string().min(1),
    validation_images: z.number().int().positive(),
    scoring_images: z.number().int().positive(),
    precision: z.enum(["fp32", "bf16"]),
    command: command.regex(/^(ADVPOISON_THREADS=\d+ )?advpoison audit /),
    date,
    victim_seeds: z.array(count).min(1),
    threads,
    seconds,
    victim_seconds: seconds,
    note: z.string().min(1).optional(),
    provenance,
    /** scripts/experiments/independent-victim.mjs: a victim sharing nothing with advpoison, on the release. */
    independent_victim: z
      .strictObject({
        trainer: z.literal("pytorch"),
        model: z.string().min(1),
        torch: z.string().min(1),
        epochs: count,
        seed: z.number().int().nonnegative(),
        images: count,
        final: accuracy,
        peak: accuracy,
        peak_epoch: count,
        clean_final: accuracy,
        clean_peak: accuracy,
        threads: count,
        seconds,
        command: z.string().regex(/^OMP_NUM_THREADS=\d+ scripts\/experiments\/torch-victim\.py RELEASE /),
      })
      .refine((v) => v.peak >= v.final && v.peak_epoch <= v.epochs, "peak is the best epoch")
      .optional(),
  })
  .refine(explained("threads"), "threads is null without provenance.threads")
  // The headline numbers are the rows' own: the first row is the main victim without a defence, the worst case
  // is the row with the highest early-stopped score on the release, and protection is clean minus that.
  .refine((a) => a.rows[0]!.defense === "none" && close(a.plain_stopped_acc, a.rows[0]!.stopped), "plain_stopped_acc")
  .refine((a) => close(a.clean_acc, a.rows[0]!.clean_stopped), "clean_acc is not the plain row's clean_stopped")
  .refine(
    (a) => close(a.worst_case_acc, Math.max(...a.rows.map((r) => r.stopped))),
    "worst_case_acc is not the rows' best",
  )
  .refine(
    (a) =>
      a.rows.some(
        (r) =>
          r.defense === a.worst_case.defense && r.victim === a.worst_case.victim && close(r.stopped, a.worst_case_acc),
      ),
    "worst_case names no row with that score",
  )
  .refine((a) => close(a.protection, a.clean_acc - a.worst_case_acc), "protection is not clean_acc - worst_case_acc")
  .refine(
    (a) => (a.survival ?? []).every((s) => s.defense === "none" || a.defenses.includes(s.defense)),
    "survival names a defence outside the battery",
  );

/** scripts/container-e2e.sh's line (E2E_OUT): the queue across podman containers against a one-process craft. */
const containerE2eRow = z.strictObject({
  image: z.string().min(1),
  image_mb: z.number().int().positive(),
  workers: z.number().int().min(2),
  killed: count,
  files_differ: count,
  seconds,
  files: z.number().int().positive(),
  images: z.number().int().positive(),
  steps: z.number().int().positive(),
  chunk_size: z.number().int().positive(),
  build_s: seconds,
  queued_s: seconds,
  reference_s: seconds,
  cpus: z.number().int().positive(),
  cpu: z.string().min(1),
  podman: z.string().min(1),
  date,
  command,
});

const results = (file: string) => join(process.cwd(), "results", file);
const readJson = (file: string): unknown => JSON.parse(readFileSync(results(file), "utf-8"));
/** scripts/experiments/posterize-reach.mjs: the share of clean values within eps of a bit-depth threshold. */
const posterizeReachRow = z
  .strictObject({
    images: z.number().int().positive(),
    bits: z.number().int().min(1).max(8),
    eps: z.number().int().positive().max(255),
    reachable: accuracy,
    black: accuracy,
    command: command.regex(/^node scripts\/experiments\/posterize-reach\.mjs/),
    date,
  })
  .refine((r) => r.reachable <= 1 - r.black, "a black value cannot cross a threshold within eps < 2^(8 - bits)");

/** results/stream-memory.json and container-e2e.json are JSON lines: one row a line. */
const readLines = (file: string): unknown[] =>
  readFileSync(results(file), "utf-8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));

/** Each row parsed by `schema`; a failure names the file, the row and the field. */
function parseAll<T>(
  file: string,
  rows: unknown,
  schema: z.ZodType<T>,
  name: (row: unknown, i: number) => string,
): T[] {
  assert.ok(Array.isArray(rows) && rows.length > 0, `${file}: not a non-empty array`);
  return rows.map((row, i) => {
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
const efficacyRows = (rows: unknown = readJson("fashion-mnist.json")) =>
  parseAll("fashion-mnist.json", rows, efficacyRow, (row, i) => `${i} (${efficacyKey(row as object)})`);
const efficacyScript = () =>
  readEfficacyScript(readFileSync(join(process.cwd(), "scripts/experiments/fashion-mnist-efficacy.sh"), "utf-8"));

/** Every string anywhere in `value` that holds an absolute path, such as /work/main/runs/... */
function absolutePaths(value: unknown): string[] {
  if (typeof value === "string") return /(?:^|[\s'"(=:])\/(?!\/)[\w.-]+\//.test(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(absolutePaths);
  if (value && typeof value === "object") return Object.values(value).flatMap(absolutePaths);
  return [];
}

/** Every row (or experiment entry) whose command sets ADVPOISON_THREADS=N but whose threads is not N. */
function threadMismatches(rows: { command: string; threads: number | null }[]): string[] {
  return rows.flatMap((r) => {
    const set = /ADVPOISON_THREADS=(\d+)/.exec(r.command)?.[1];
    return set !== undefined && r.threads !== null && r.threads !== Number(set)
      ? [`threads ${r.threads}, but its command says ADVPOISON_THREADS=${set}: ${r.command}`]
      : [];
  });
}

const TIMEOUT = { timeout: 60_000 };

describe("results/fashion-mnist.json", TIMEOUT, () => {
  test("every row has its final and peak accuracy, victim, seed, threads and command, once", () => {
    const rows = efficacyRows();
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

  test("every row agrees with the command it records and the efficacy script's defaults", () => {
    const script = efficacyScript();
    const wrong = efficacyRows().flatMap((r) => commandMismatches(r, script).map((m) => `${efficacyKey(r)}: ${m}`));
    assert.deepEqual(wrong, []);
    assert.deepEqual(threadMismatches(efficacyRows()), []);
  });

  test("the script's defaults are read from the script itself", () => {
    const script = efficacyScript();
    for (const [name, value] of [
      ["EPS_LIST", "8 16"],
      ["PRECISION", "fp32"],
      ["STEPS", "40"],
      ["VICTIM_SEED", "1"],
      ["SUBSET", ""],
    ] as const)
      assert.equal(script.defaults.get(name), value, name);
    assert.ok(script.recorded.has("ADVPOISON_THREADS") && script.recorded.has("VARIANT"));
  });
});

describe("the command check fails on planted rows", TIMEOUT, () => {
  const script = efficacyScript();
  const row = (key: string): EfficacyRow => {
    const r = efficacyRows().find((x) => efficacyKey(x) === key);
    assert.ok(r, `no row ${key}`);
    return structuredClone(r);
  };
  const plant = (key: string, change: (r: EfficacyRow) => void) => {
    const r = row(key);
    assert.deepEqual(commandMismatches(r, script), [], `${key} agrees before the change`);
    change(r);
    return commandMismatches(r, script);
  };

  test("an eps outside the command's EPS_LIST", () => {
    const m = plant("targeted|8|20k-authors-s40", (r) => {
      r.eps = 16;
    });
    assert.ok(
      m.some((x) => x.includes("eps 16 is not in the command's EPS_LIST '8'")),
      m.join("; "),
    );
  });

  test("an eps outside the script's default EPS_LIST when the command sets none", () => {
    assert.ok(
      plant("random|8|", (r) => {
        r.eps = 4;
      }).some((x) => x.includes("EPS_LIST '8 16'")),
    );
  });

  test("a precision, subset, variant, step count, tau, restart count, augmentation or seed the command does not say", () => {
    const cases: [string, unknown][] = [
      ["precision", "fp32"],
      ["subset", 10000],
      ["variant", "other"],
      ["steps", 100],
      ["settings.tau", 0.05],
      ["settings.restarts", 1],
      ["settings.augment", "quarter"],
      ["victim_seed", 2],
    ];
    for (const [field, value] of cases) {
      const m = plant("targeted|8|20k-authors-s40-r2", (r) => {
        const [outer, inner] = field.split(".");
        if (inner) r.settings[inner] = value;
        else (r as Record<string, unknown>)[outer!] = value;
      });
      assert.ok(
        m.some((x) => x.startsWith(`${field} is`)),
        field,
      );
    }
  });

  test("a method, crafting models, error-min rounds or TensorClog tau the command does not say", () => {
    assert.ok(
      plant("targeted|8|authors-ens2", (r) => {
        r.settings.crafters = undefined;
      }).length > 0,
    );
    assert.ok(
      plant("untargeted|8|", (r) => {
        r.method = "targeted";
        r.recipe = "targeted";
      }).length > 0,
    );
    assert.ok(
      plant("error-min|8|published", (r) => {
        r.settings.max_rounds = 3;
      }).length > 0,
    );
    assert.ok(
      plant("tensorclog|16|published", (r) => {
        r.settings.tau = 0.5;
      }).length > 0,
    );
  });

  test("a command that sets a variable the script does not read, or is not the script's", () => {
    const r = row("clean|0|");
    r.command = `EPS=8 ${r.command}`;
    assert.ok(commandMismatches(r, script).some((x) => x.includes("sets EPS, which the script does not record")));
    r.command = "node dist/src/cli/main.js train";
    assert.equal(commandMismatches(r, script).length, 1);
  });

  test("threads that disagree with the command's ADVPOISON_THREADS", () => {
    assert.equal(threadMismatches([{ command: "ADVPOISON_THREADS=2 x", threads: 1 }]).length, 1);
    assert.equal(threadMismatches([{ command: "ADVPOISON_THREADS=2 x", threads: 2 }]).length, 0);
  });

  test("a row without its victim seed or threads, or null without a reason", () => {
    const r = row("clean|0|") as Record<string, unknown>;
    for (const [field, value] of [
      ["victim_seed", undefined],
      ["threads", undefined],
      ["threads", null],
      ["victim_seed", null],
    ] as const) {
      const planted = { ...r, [field]: value, provenance: {} };
      if (value === undefined) delete planted[field];
      assert.equal(efficacyRow.safeParse(planted).success, false, `${field} ${value}`);
    }
    const known = { ...r, threads: null, provenance: { threads: "not recorded" } };
    assert.equal(efficacyRow.safeParse(known).success, true);
  });
});

describe(
  "results/experiments.json, labels.json, benchmarks.json, stream-memory.json, protect.json, audit.json",
  TIMEOUT,
  () => {
    test("every experiment entry has its config, threads, victim seeds and summary rows", () => {
      const all = z.record(z.string(), experimentEntry).safeParse(readJson("experiments.json"));
      assert.ok(all.success, all.success ? "" : JSON.stringify(all.error.issues[0]));
      assert.deepEqual(threadMismatches(Object.values(all.data)), []);
    });

    test("every labels row names its labelling, attack success, final and peak accuracy, seeds, threads and command", () => {
      const rows = parseAll("labels.json", readJson("labels.json"), labelsRow, (_row, i) => String(i));
      assert.deepEqual(new Set(rows.map((r) => r.labels)), new Set(["original", "permuted", "predicted"]));
      assert.deepEqual(threadMismatches(rows), []);
    });

    test("every benchmark, stream-memory, protect, container-e2e and posterize-reach row fits its schema", () => {
      parseAll(
        "benchmarks.json",
        readJson("benchmarks.json"),
        benchmarkRow,
        (row, i) => `${i} (${(row as { case: string }).case})`,
      );
      parseAll("stream-memory.json", readLines("stream-memory.json"), streamMemoryRow, (_row, i) => String(i));
      parseAll("container-e2e.json", readLines("container-e2e.json"), containerE2eRow, (_row, i) => String(i));
      const reach = readJson("posterize-reach.json") as Record<string, unknown>[];
      parseAll("posterize-reach.json", reach, posterizeReachRow, (_row, i) => String(i));
      assert.equal(posterizeReachRow.safeParse({ ...reach[0], black: 0.95 }).success, false, "planted black share");
      const protect = parseAll("protect.json", readJson("protect.json"), protectRow, (_row, i) => String(i));
      assert.deepEqual(threadMismatches(protect), []);
    });

    test("every audit fits its schema, and its headline numbers are its rows' own", () => {
      const audits = parseAll("audit.json", readJson("audit.json"), auditEntry, (_row, i) => String(i));
      assert.deepEqual(threadMismatches(audits), []);
      const [first] = readJson("audit.json") as { worst_case_acc: number; protection: number }[];
      const planted = { ...first!, worst_case_acc: first!.worst_case_acc - 0.05, protection: first!.protection + 0.05 };
      assert.equal(auditEntry.safeParse(planted).success, false, "a worst case below the rows' best passed");
    });

    test("a planted speedup that is not PyTorch's seconds over ours fails", () => {
      const [first] = readJson("benchmarks.json") as Record<string, number>[];
      assert.equal(benchmarkRow.safeParse(first).success, true);
      const swapped = { ...first, speedup_bf16_vs_torch_bf16: first!.speedup_bf16_vs_torch_fp32 };
      assert.equal(benchmarkRow.safeParse(swapped).success, false);
    });
  },
);

test("no committed row holds an absolute path of the machine that made it", TIMEOUT, () => {
  for (const file of [
    "fashion-mnist.json",
    "experiments.json",
    "labels.json",
    "benchmarks.json",
    "protect.json",
    "audit.json",
    "posterize-reach.json",
  ])
    assert.deepEqual(absolutePaths(readJson(file)), [], file);
  for (const file of ["stream-memory.json", "container-e2e.json"])
    assert.deepEqual(absolutePaths(readLines(file)), [], file);
  assert.deepEqual(absolutePaths({ note: "crafting model /work/main/runs/crafter" }).length, 1, "planted");
  assert.deepEqual(absolutePaths({ note: "eps 8/255, shard i/2, https://huggingface.co/x" }), []);
});

describe("the README's result tables", TIMEOUT, () => {
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-readme-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const check = (readme: string, dir: string) =>
    spawnSync(
      process.execPath,
      ["scripts/experiments/readme-tables.mjs", "--check", "--readme", readme, "--results", dir],
      { encoding: "utf8" },
    );

  test("are the tables scripts/experiments/readme-tables.mjs generates from the rows", () => {
    const r = check("README.md", "results");
    assert.equal(r.status, 0, r.stderr);
  });

  test("a README number that disagrees with its row fails the check, naming its table", () => {
    const readme = join(tmp, "README-number.md");
    const text = readFileSync("README.md", "utf-8");
    assert.ok(text.includes("| **30.93 %** |"));
    writeFileSync(readme, text.replace("| **30.93 %** |", "| **29.93 %** |"));
    const r = check(readme, "results");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /regions push differ/);
  });

  test("a row that changes under an unchanged README fails the check", () => {
    const dir = join(tmp, "results-row");
    cpSync("results", dir, { recursive: true });
    const rows = JSON.parse(readFileSync(join(dir, "fashion-mnist.json"), "utf-8")) as EfficacyRow[];
    rows.find((r) => efficacyKey(r) === "lsp|16|")!.test_acc = 0.3349;
    writeFileSync(join(dir, "fashion-mnist.json"), JSON.stringify(rows));
    const r = check("README.md", dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /regions baselines differ/);
  });

  test("a README without a generated region, or with one nothing generates, fails the check", () => {
    const text = readFileSync("README.md", "utf-8");
    const readme = join(tmp, "README-region.md");
    writeFileSync(readme, text.replace("<!-- results:labels -->", "").replace("<!-- /results:labels -->", ""));
    assert.match(check(readme, "results").stderr, /lacks the regions labels/);
    writeFileSync(readme, `${text}\n<!-- results:nothing -->\n<!-- /results:nothing -->\n`);
    assert.match(check(readme, "results").stderr, /region 'nothing' that nothing generates/);
  });
});
