// The audit's parts without training: defences parsed with their lever (jpeg:75, bdr:3, adversarial:4), the
// battery's rows (none first, transfer victims, grayscale skipped on grey images), the default victims, the
// even-odd halves of the test split, the early-stopped accuracy (chosen on validation, never on the scored data)
// and the report's marked row.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Dataset } from "../../src/data/index.js";
import {
  auditRows,
  type Condition,
  DEFENSE_DEFAULTS,
  defaultVictims,
  evenOddHalves,
  parseDefense,
  perturbationSurvival,
} from "../../src/experiment/index.js";
import type { Manifest } from "../../src/poison/index.js";
import { readReportJson, renderReport, validateReport } from "../../src/report/index.js";
import { stoppedAccuracy } from "../../src/train/index.js";
import { historyOf } from "../train/history.js";

const T = { timeout: 30_000 };

describe("parseDefense", T, () => {
  test("NAME:VALUE sets the defence's lever and nothing else", () => {
    const jpeg = parseDefense("jpeg:75");
    assert.equal(jpeg.label, "jpeg:75");
    assert.equal(jpeg.name, "jpeg");
    assert.deepEqual(jpeg.settings, { ...DEFENSE_DEFAULTS, jpeg: { quality: 75 } });
    assert.deepEqual(parseDefense("bdr:3").settings.bdr, { bits: 3 });
    assert.deepEqual(parseDefense("adversarial:4").settings.adversarial, { ...DEFENSE_DEFAULTS.adversarial, eps: 4 });
    assert.deepEqual(parseDefense("noise:8").settings.noise, { sigma: 8 });
    assert.equal(parseDefense("mixup").settings, DEFENSE_DEFAULTS);
    assert.equal(parseDefense("jpeg:075").label, "jpeg:75");
  });

  test("unknown names, values of defences without a lever and values the defence refuses are one-line errors", () => {
    assert.throws(() => parseDefense("jpeg7"), /unknown defense 'jpeg7' \(none, adversarial/);
    assert.throws(() => parseDefense("grayscale:2"), /defense 'grayscale:2': grayscale takes no value/);
    assert.throws(() => parseDefense("jpeg:"), /defense 'jpeg:': expected jpeg:QUALITY/);
    assert.throws(() => parseDefense("jpeg:1:2"), /expected jpeg:QUALITY/);
    assert.throws(() => parseDefense("jpeg:abc"), /jpeg: quality must be an integer in 1\.\.100, got NaN/);
    assert.throws(() => parseDefense("bdr:9"), /bdr: bits must be an integer in 1\.\.8, got 9/);
    assert.throws(() => parseDefense("adversarial:0"), /eps must be positive/);
  });
});

describe("auditRows", T, () => {
  const battery = (labels: string[], victims: string[], channels = 1) =>
    auditRows({
      defenses: labels.map((l) => parseDefense(l)),
      victims,
      epochs: 2,
      testSubset: null,
      channels,
      numClasses: 10,
    });

  test("none first and each defence once for the main victim, the others without a defence", () => {
    const rows = battery(["bdr:2", "none", "jpeg:75", "bdr:2"], ["smallcnn-bn", "smallcnn", "smallcnn-bn"]);
    assert.deepEqual(
      rows.map((r) => [r.victim, r.defense.label]),
      [
        ["smallcnn-bn", "none"],
        ["smallcnn-bn", "bdr:2"],
        ["smallcnn-bn", "jpeg:75"],
        ["smallcnn", "none"],
      ],
    );
    // "none" is added when the battery lacks it: the plain victim is the reference.
    assert.deepEqual(
      battery(["mixup"], ["smallcnn-bn"]).map((r) => r.defense.label),
      ["none", "mixup"],
    );
  });

  test("a row's release and clean conditions differ only in their id: same victim, recipe, split and defence", () => {
    const [, bdr] = battery(["none", "bdr:3"], ["smallcnn-bn"]);
    // What a victim's key digests, besides the condition's id and the release.
    const keyed = (c: Condition) => ({
      victim: c.victim,
      defense: { name: c.defense?.name, settings: c.defense?.settings },
      budget: c.budget,
      labels: c.labels,
    });
    assert.deepEqual([bdr!.release.id, bdr!.clean.id], ["smallcnn-bn/bdr:3/release", "smallcnn-bn/bdr:3/clean"]);
    assert.deepEqual(keyed(bdr!.release), keyed(bdr!.clean));
    assert.deepEqual(bdr!.release.defense?.settings, { bits: 3 });
    assert.equal(bdr!.release.victim.testSplit, "even-odd");
    assert.equal(bdr!.release.victim.recipe.epochs, 2);
  });

  test("grayscale is skipped with the reason on grey images and runs on colour ones", () => {
    const grey = battery(["none", "grayscale"], ["smallcnn-bn"], 1)[1]!;
    assert.match(grey.skip ?? "", /one channel already/);
    assert.equal(grey.release.skip, grey.skip);
    assert.equal(battery(["none", "grayscale"], ["smallcnn-bn"], 3)[1]!.skip, null);
  });
});

describe("defaultVictims", T, () => {
  const manifest = (models: string[]) =>
    ({ plan: { crafters: models.map((model) => ({ model, path: "", sha256: "" })) } }) as unknown as Manifest;
  test("the crafting architecture and the other small CPU victim; SmallCNN-BN where the crafter is neither", () => {
    assert.deepEqual(defaultVictims(manifest(["smallcnn-bn"])), ["smallcnn-bn", "smallcnn"]);
    assert.deepEqual(defaultVictims(manifest(["smallcnn"])), ["smallcnn", "smallcnn-bn"]);
    assert.deepEqual(defaultVictims(manifest(["resnet18"])), ["smallcnn-bn", "smallcnn"]);
    assert.deepEqual(defaultVictims(manifest([])), ["smallcnn-bn", "smallcnn"]);
  });
});

describe("evenOddHalves", T, () => {
  test("even indices validate, odd indices score: disjoint, together the whole split, images with their labels", () => {
    const count = 7;
    const ds: Dataset = {
      images: Uint8Array.from({ length: count * 4 }, (_, i) => Math.floor(i / 4) * 10),
      labels: Int32Array.from({ length: count }, (_, i) => (i * 3) % 5),
      count,
      height: 2,
      width: 2,
      channels: 1,
      numClasses: 5,
      classNames: ["a", "b", "c", "d", "e"],
      source: { format: "idx", gzip: false, imagesFile: "", labelsFile: "" },
    };
    const { validation, score } = evenOddHalves(ds);
    assert.equal(validation.count, 4);
    assert.equal(score.count, 3);
    assert.deepEqual(
      [...validation.labels],
      [0, 2, 4, 6].map((i) => (i * 3) % 5),
    );
    assert.deepEqual(
      [...score.labels],
      [1, 3, 5].map((i) => (i * 3) % 5),
    );
    assert.deepEqual(
      [...validation.images!].filter((_, k) => k % 4 === 0),
      [0, 20, 40, 60],
    );
    assert.deepEqual(
      [...score.images!].filter((_, k) => k % 4 === 0),
      [10, 30, 50],
    );
  });
});

describe("perturbationSurvival", T, () => {
  /** Two-by-two grey images, one per pixel list. */
  const images = (pixels: number[][]): Dataset => ({
    images: Uint8Array.from(pixels.flat()),
    labels: new Int32Array(pixels.length),
    count: pixels.length,
    height: 2,
    width: 2,
    channels: 1,
    numClasses: 2,
    classNames: ["a", "b"],
    source: { format: "idx", gzip: false, imagesFile: "", labelsFile: "" },
  });

  test("2-bit posterizing passes a change only where it crosses one of 64, 128 and 192; batches only split sums", () => {
    // +16 from 60 crosses 64 (0 -> 64), from 0 and 20 it crosses nothing, -16 from 130 crosses 128 (128 -> 64).
    // 3 bits (steps of 32): 60 -> 76 (32 -> 64), 20 -> 36 (0 -> 32) and 130 -> 114 (128 -> 96) cross.
    const source = images([
      [0, 60, 20, 130],
      [200, 255, 0, 0],
    ]);
    const release = images([
      [16, 76, 36, 114],
      [200, 255, 0, 0],
    ]);
    const battery = ["none", "bdr:2", "bdr:3", "adversarial:4", "mixup", "jpeg:90"].map((d) => parseDefense(d));
    const rows = perturbationSurvival(release, source, battery);
    assert.deepEqual(
      rows.map((r) => r.defense),
      ["none", "bdr:2", "bdr:3", "jpeg:90"],
      "the release itself, then only the defences that are functions of the images",
    );
    const expected = { none: [4, 4 * 16], "bdr:2": [2, 2 * 64], "bdr:3": [3, 3 * 32] } as const;
    for (const [defense, [changed, abs]] of Object.entries(expected)) {
      const r = rows.find((x) => x.defense === defense)!;
      assert.equal(r.changed, changed / 8, defense);
      assert.ok(Math.abs(r.mean_abs - abs / 8) < 1e-4, `${defense}: ${r.mean_abs}`);
    }
    assert.ok(rows[3]!.changed > 0, "JPEG passes some of the change");
    const oneByOne = perturbationSurvival(release, source, battery, 1);
    for (const [k, r] of oneByOne.entries()) {
      assert.equal(r.changed, rows[k]!.changed, "batches only split the counts");
      assert.ok(Math.abs(r.mean_abs - rows[k]!.mean_abs) < 1e-4, "and the sums");
    }
    const same = perturbationSurvival(source, source, battery);
    assert.ok(same.every((r) => r.changed === 0 && r.mean_abs === 0));
  });
});

describe("stoppedAccuracy", T, () => {
  const withVal = (pairs: [number, number][]) =>
    historyOf(pairs.map(([, t]) => t)).map((r, i) => ({ ...r, valAcc: pairs[i]![0] }));

  test("the epoch is the validation set's best, scored on the test set, not the test set's best", () => {
    // Validation peaks at epoch 2, the test set at epoch 3.
    const h = withVal([
      [0.5, 0.52],
      [0.8, 0.7],
      [0.75, 0.9],
      [0.6, 0.6],
    ]);
    assert.deepEqual(stoppedAccuracy(h), { stopped_test_acc: 0.7, stopped_epoch: 2 });
  });

  test("equal validation accuracies stop at the earliest; no validation accuracy gives NaN", () => {
    assert.deepEqual(
      stoppedAccuracy(
        withVal([
          [0.6, 0.1],
          [0.6, 0.2],
        ]),
      ),
      { stopped_test_acc: 0.1, stopped_epoch: 1 },
    );
    const none = stoppedAccuracy(historyOf([0.4, 0.5]));
    assert.ok(Number.isNaN(none.stopped_test_acc) && Number.isNaN(none.stopped_epoch));
  });
});

describe("a table's marked row", T, () => {
  const data = {
    title: "t",
    params: {},
    tables: [
      {
        title: "rows",
        columns: ["a", "b"],
        rows: [
          ["x", 1],
          ["y", 2],
          ["z", 3],
        ],
        highlight: [1],
      },
    ],
    curves: [],
    imageGrids: [],
    notes: [],
  };

  test("is drawn marked, alone, and survives report.json", () => {
    const html = renderReport(data);
    const rows = html.match(/<tr[^>]*><th scope="row">[xyz]<\/th>/g) ?? [];
    assert.deepEqual(rows, [
      '<tr><th scope="row">x</th>',
      '<tr class="highlight"><th scope="row">y</th>',
      '<tr><th scope="row">z</th>',
    ]);
    const dir = mkdtempSync(join(tmpdir(), "advpoison-highlight-"));
    try {
      writeFileSync(join(dir, "report.json"), JSON.stringify(data));
      assert.deepEqual(readReportJson(join(dir, "report.json")).tables[0]!.highlight, [1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("must be one of the table's rows", () => {
    assert.throws(
      () => validateReport({ ...data, tables: [{ ...data.tables[0]!, highlight: [3] }] }),
      /table "rows": highlighted row 3 is not one of its 3 rows/,
    );
  });
});
