// Experiment configs: the shipped files are valid and equal the built-in defaults, --full gives the paper's
// scale, flags and --set override any field, bad values fail naming the field; plus the in-memory training
// sets (relabelling, budgets) and the CSV/results helpers.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Command } from "commander";
import { flagOverrides, registerExperiment } from "../../src/cli/experiment.js";
import type { Dataset } from "../../src/data/index.js";
import {
  CONFIG_SCHEMAS,
  DEFAULT_CONFIGS,
  EXPERIMENT_NAMES,
  EXPERIMENTS,
  type ExperimentName,
  packageConfigPath,
  ResultsStore,
  relabel,
  resolveConfig,
  textTable,
  toCsv,
  validateConfig,
  withBudget,
} from "../../src/experiment/index.js";
import { LSP_SETTINGS, poisonedIndices } from "../../src/poison/index.js";

/** Parses an `experiment` command line without running it; returns the overrides its flags make. */
function overridesOf(args: string[]): Record<string, unknown> {
  const program = new Command().exitOverride();
  registerExperiment(program);
  const cmd = program.commands.find((c) => c.name() === "experiment")!;
  let result: Record<string, unknown> | undefined;
  let error: unknown;
  cmd.exitOverride().action((name: string, _o: unknown, c: Command) => {
    try {
      result = flagOverrides(name as ExperimentName, c);
    } catch (e) {
      error = e;
    }
  });
  program.parse(["experiment", ...args], { from: "user" });
  if (error) throw error;
  return result!;
}

describe("experiment configs", () => {
  for (const name of EXPERIMENT_NAMES) {
    test(`${name}: experiments/${name}.json is valid, equals the built-in defaults, and its full preset is valid`, () => {
      const file = JSON.parse(readFileSync(join("experiments", `${name}.json`), "utf-8"));
      assert.deepEqual(file, DEFAULT_CONFIGS[name]);
      // The installed package finds its own copy from wherever the working directory is.
      assert.deepEqual(JSON.parse(readFileSync(packageConfigPath(name), "utf-8")), file);
      const scaled = resolveConfig(name);
      assert.equal(scaled.scale, "scaled-down");
      assert.equal(scaled.config.dataset, "fashion-mnist");
      assert.equal(scaled.config.out, `runs/experiment-${name}`);
      const full = resolveConfig(name, { full: true });
      assert.equal(full.scale, "full");
      assert.equal(full.config.dataset, "cifar10");
      assert.equal(full.config.crafter.model, "resnet18");
      assert.equal(full.config.crafter.recipe, "crafting");
      assert.equal(full.config.victim.recipe, "victim");
      assert.equal(full.config.poison.steps, 250);
      if ("eps" in full.config.poison) assert.equal(full.config.poison.eps, 8);
      assert.equal(full.config.subset, null);
      assert.equal(full.config.out, `runs/experiment-${name}-full`);
    });
  }

  test("the scaled-down defaults are the brief's: Fashion-MNIST, 5000 images, crafter 2 epochs, 40 steps, victims 15 epochs", () => {
    const m = resolveConfig("methods").config;
    assert.deepEqual(
      [m.subset, m.crafter.epochs, m.crafter.subset, m.poison.steps, m.poison.eps, m.victim.epochs, m.runs],
      [5000, 2, null, 40, 16, 15, 2],
    );
    assert.deepEqual(m.methods, ["clean", "random", "error-min", "tensorclog", "lsp", "ops", "untargeted", "targeted"]);
    assert.deepEqual(resolveConfig("defenses").config.defenses, [
      "none",
      "adversarial",
      "cutout",
      "mixup",
      "cutmix",
      "jpeg",
      "jpeg10",
      "bdr",
      "grayscale",
      "noise",
    ]);
    assert.deepEqual(resolveConfig("eps").config.eps, [4, 8, 16, 24]);
    assert.deepEqual(resolveConfig("budget").config.budgets, [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(
      resolveConfig("transfer").config.victims.map((v) => v.model),
      ["smallcnn-bn", "smallcnn", "vgg11"],
    );
  });

  test("flags override fields; --eps is a list for the eps experiment and one value elsewhere", () => {
    assert.deepEqual(
      overridesOf([
        "methods",
        "--subset",
        "300",
        "--eps",
        "8",
        "--steps",
        "3",
        "--victim-epochs",
        "1",
        "--runs",
        "3",
        "--out",
        "x",
        "--no-augment",
        "--test-subset",
        "all",
        "--methods",
        "clean,targeted",
        "--em-max-rounds",
        "2",
      ]),
      {
        subset: 300,
        poison: { eps: 8, steps: 3, augment: false },
        victim: { epochs: 1 },
        runs: 3,
        out: "x",
        testSubset: null,
        methods: ["clean", "targeted"],
        errorMin: { maxRounds: 2 },
      },
    );
    assert.deepEqual(overridesOf(["eps", "--eps", "2,4"]), { eps: [2, 4] });
    assert.deepEqual(overridesOf(["transfer", "--victims", "smallcnn-bn,resnet18:2:500:300"]), {
      victims: [{ model: "smallcnn-bn" }, { model: "resnet18", epochs: 2, subset: 500, testSubset: 300 }],
    });
    assert.deepEqual(overridesOf(["defenses", "--adv-eps", "8", "--jpeg-quality", "60", "--no-clean-reference"]), {
      defense: { adversarial: { eps: 8 }, jpeg: { quality: 60 } },
      cleanReference: false,
    });
    assert.deepEqual(overridesOf(["budget"]), {});
    assert.throws(() => overridesOf(["methods", "--budgets", "0,1"]), /--budgets does not apply to experiment methods/);
    assert.throws(() => overridesOf(["budget", "--eps", "4,8"]), /--eps takes one value/);
  });

  test("overrides and --set reach every field; the result is validated with the field named", () => {
    const r = resolveConfig("defenses", {
      overrides: { subset: 256, victim: { epochs: 1 }, defense: { adversarial: { steps: 2 } } },
      sets: ["runs=4", "defense.noise.sigma=4", "crafter.path=/tmp/c.safetensors", 'defenses=["none","jpeg"]'],
    });
    assert.equal(r.scale, "scaled-down + overrides");
    const c = r.config;
    assert.deepEqual(
      [c.subset, c.victim.epochs, c.victim.model, c.defense.adversarial.steps, c.defense.adversarial.tau, c.runs],
      [256, 1, "smallcnn-bn", 2, 0.5, 4],
    );
    assert.equal(c.defense.noise.sigma, 4);
    assert.equal(c.crafter.path, "/tmp/c.safetensors");
    assert.deepEqual(c.defenses, ["none", "jpeg"]);
    // --full first, then flags on top.
    const f = resolveConfig("labels", { full: true, overrides: { runs: 1 } }).config;
    assert.deepEqual([f.dataset, f.runs], ["cifar10", 1]);

    assert.throws(() => resolveConfig("methods", { sets: ["runs=0"] }), /runs: /);
    assert.throws(() => resolveConfig("methods", { sets: ["poison.eps=100"] }), /poison\.eps/);
    assert.throws(() => resolveConfig("methods", { sets: ['methods=["poison"]'] }), /methods\.0/);
    assert.throws(() => resolveConfig("methods", { sets: ["victim.widht=3"] }), /victim.*widht/);
    assert.throws(() => resolveConfig("eps", { sets: ["poison.eps=8"] }), /poison.*eps/);
    assert.throws(() => resolveConfig("budget", { sets: ["budgets=[1.5]"] }), /budgets\.0/);
    assert.throws(() => resolveConfig("methods", { sets: ["no-equals"] }), /PATH=VALUE/);
    assert.throws(() => resolveConfig("methods", { sets: ["__proto__.x=1"] }), /invalid config path/);
    assert.throws(() => validateConfig("eps", DEFAULT_CONFIGS.methods), /invalid eps config/);
  });

  test("methods crafts LSP (its settings block) and OPS (L0: eps 255, no steps); defenses has jpeg10 and bdr", () => {
    const shape = { count: 5000, channels: 1, numClasses: 10 };
    const methods = EXPERIMENTS.methods.conditions(resolveConfig("methods").config, shape);
    const byId = new Map(methods.map((c) => [c.id, c]));
    const lsp = byId.get("lsp")!;
    assert.deepEqual(lsp.release?.extra, LSP_SETTINGS.parse({}));
    assert.deepEqual([lsp.release?.eps, lsp.release?.steps, lsp.cells.eps, lsp.cells.steps], [16, 0, "16/255", "–"]);
    const ops = byId.get("ops")!;
    assert.deepEqual([ops.release?.eps, ops.release?.steps, ops.cells.eps], [255, 0, "L0 = 1 pixel"]);
    const l2 = EXPERIMENTS.methods.conditions(resolveConfig("methods", { sets: ['lsp.norm="l2"'] }).config, shape);
    assert.equal(l2.find((c) => c.id === "lsp")!.cells.eps, "16/255 (L2 ball)");
    const defenses = EXPERIMENTS.defenses.conditions(resolveConfig("defenses").config, shape);
    const settings = (id: string) => defenses.find((c) => c.id === id)?.defense?.settings;
    assert.deepEqual(settings("defense-jpeg10"), { quality: 10 });
    assert.deepEqual(settings("defense-bdr"), { bits: 2 });
    assert.deepEqual(settings("defense-jpeg"), { quality: 50 });
    assert.throws(() => resolveConfig("defenses", { sets: ["defense.bdr.bits=9"] }), /defense\.bdr\.bits/);
  });

  test("a config that calls the poison's method `recipe` (before 0.2) still reads; `--method` sets it", () => {
    const dir = mkdtempSync(join(tmpdir(), "advpoison-config-"));
    const file = join(dir, "old.json");
    writeFileSync(file, JSON.stringify({ experiment: "eps", poison: { recipe: "untargeted" } }));
    assert.equal(resolveConfig("eps", { configFile: file }).config.poison.method, "untargeted");
    assert.equal(resolveConfig("eps", { sets: ["poison.method=untargeted"] }).config.poison.method, "untargeted");
  });

  test("a config file may be partial: missing fields take the defaults", () => {
    const dir = mkdtempSync(join(tmpdir(), "advpoison-config-"));
    const file = join(dir, "mine.json");
    writeFileSync(file, JSON.stringify({ experiment: "budget", budgets: [0, 1], victim: { epochs: 2 } }));
    const r = resolveConfig("budget", { configFile: file });
    assert.equal(r.file, file);
    assert.deepEqual([r.config.budgets, r.config.victim.epochs, r.config.victim.model], [[0, 1], 2, "smallcnn-bn"]);
    writeFileSync(file, JSON.stringify({ experiment: "labels" }));
    assert.throws(() => resolveConfig("budget", { configFile: file }), /a config for 'labels', not 'budget'/);
    assert.throws(() => resolveConfig("budget", { configFile: join(dir, "missing.json") }), /not found/);
    for (const name of EXPERIMENT_NAMES) assert.ok(CONFIG_SCHEMAS[name]);
  });

  test("a config file with a __proto__, constructor or prototype key anywhere is rejected, naming where", () => {
    const dir = mkdtempSync(join(tmpdir(), "advpoison-config-"));
    const file = join(dir, "evil.json");
    const cases: [string, RegExp][] = [
      ['{"experiment": "budget", "__proto__": {"runs": 1}}', /forbidden key '__proto__' at __proto__ /],
      [
        '{"experiment": "budget", "victim": {"constructor": {"x": 1}}}',
        /forbidden key 'constructor' at victim\.constructor/,
      ],
      [
        '{"experiment": "budget", "budgets": [0, {"prototype": 1}]}',
        /forbidden key 'prototype' at budgets\.1\.prototype/,
      ],
    ];
    for (const [text, pattern] of cases) {
      writeFileSync(file, text);
      assert.throws(
        () => resolveConfig("budget", { configFile: file }),
        (e: Error) => {
          assert.match(e.message, pattern);
          assert.ok(e.message.startsWith(`${file}: `), e.message);
          return true;
        },
      );
    }
    // The merge's objects keep their prototype: nothing leaked into Object.prototype either.
    assert.equal(({} as Record<string, unknown>).runs, undefined);
  });
});

function toyDataset(count: number): Dataset {
  return {
    images: Uint8Array.from({ length: count * 4 }, (_, i) => i % 251),
    labels: Int32Array.from({ length: count }, (_, i) => i % 3),
    count,
    height: 2,
    width: 2,
    channels: 1,
    numClasses: 3,
    classNames: ["a", "b", "c"],
    source: { format: "idx", gzip: false, imagesFile: "<memory>", labelsFile: "<memory>" },
  };
}

describe("derived training sets", () => {
  test("relabel maps every label through pi and keeps the images", () => {
    const ds = toyDataset(7);
    const r = relabel(ds, [1, 2, 0]);
    assert.deepEqual([...r.labels], [1, 2, 0, 1, 2, 0, 1]);
    assert.equal(r.images, ds.images);
    assert.deepEqual([...ds.labels], [0, 1, 2, 0, 1, 2, 0], "the source labels must not change");
    assert.throws(() => relabel(ds, [1, 1, 0]), /permutation/);
  });

  test("withBudget poisons exactly the images craft --budget would", () => {
    const clean = toyDataset(40);
    const poisoned = { ...clean, images: Uint8Array.from(clean.images!, (v) => 255 - v) };
    for (const b of [0.25, 0.5, 0.75]) {
      const mixed = withBudget(clean, poisoned, b, 9);
      const chosen = new Set(poisonedIndices(40, b, 9));
      assert.equal(chosen.size, Math.round(40 * b));
      for (let i = 0; i < 40; i++) {
        const from = chosen.has(i) ? poisoned : clean;
        assert.deepEqual([...mixed.images!.subarray(i * 4, i * 4 + 4)], [...from.images!.subarray(i * 4, i * 4 + 4)]);
      }
      assert.deepEqual([...mixed.labels], [...clean.labels]);
    }
    assert.equal(withBudget(clean, poisoned, 0, 9), clean);
    assert.equal(withBudget(clean, poisoned, 1, 9), poisoned);
    assert.throws(() => withBudget(clean, toyDataset(3), 0.5, 0), /does not match/);
  });
});

describe("result files", () => {
  test("CSV quotes what needs quoting; text tables align", () => {
    assert.equal(
      toCsv(
        ["a", "b"],
        [
          ["x,y", 'say "hi"'],
          [1.5, null],
        ],
      ),
      'a,b\n"x,y","say ""hi"""\n1.5,\n',
    );
    assert.equal(
      textTable(
        ["k", "value"],
        [
          ["a", 1],
          ["long", null],
        ],
      ),
      "k     value\na     1\nlong  –",
    );
  });

  test("results.json keeps recorded units across opens and refuses another experiment's directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "advpoison-results-"));
    const s = ResultsStore.open(dir, "labels");
    s.record({
      kind: "crafter",
      key: "crafter/x#1",
      path: "p",
      model: "smallcnn-bn",
      epochs: 1,
      images: 10,
      sha256: "0",
      seconds: 1,
      finished: "t",
    });
    const again = ResultsStore.open(dir, "labels");
    assert.equal(again.get("crafter/x#1", "crafter")?.path, "p");
    // A release recorded when units called the method `recipe` reads under today's name.
    const path = join(dir, "results.json");
    const file = JSON.parse(readFileSync(path, "utf8"));
    file.units["release/old"] = { kind: "release", key: "release/old", recipe: "targeted", eps: 8 };
    writeFileSync(path, JSON.stringify(file));
    const old = ResultsStore.open(dir, "labels").get("release/old", "release");
    assert.equal(old?.method, "targeted");
    assert.ok(!("recipe" in (old ?? {})));
    assert.equal(again.get("crafter/x#1", "victim"), undefined);
    assert.throws(() => ResultsStore.open(dir, "eps"), /belongs to experiment 'labels'/);
  });
});
