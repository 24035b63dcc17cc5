// What every method's release does, through the CLI, measured by an independent reader: PyTorch alone
// (scripts/fixtures/release_behaviour.py) loads the crafting model and the release and reports cross-entropies,
// parameter-gradient norms and the perturbation's size. Each check compares a release with its own source or
// with random noise of the same budget crafted in the same run, so it holds on any CPU (oneDNN and OpenBLAS give
// other float bits from CPU to CPU), yet fails when a method changes behaviour: the targeted objective's sign
// flipped, untargeted steps that lower the loss, TensorClog that stops shrinking the gradient, a budget ignored.
// (The augmentation's draws and shifts are pinned against PyTorch in diff-augment.test.ts.) What users rely on
// bit for bit, on one machine, is tested here too: the same command twice gives the same bytes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { needs, pythonLacks, SYSTEM_PYTHON } from "../requirements.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const CLI = join(process.cwd(), "dist/src/cli/main.js");
const MEASURE = join(process.cwd(), "scripts/fixtures/release_behaviour.py");
const N = 192;
const EPS = 16;
const BASE = ["--dataset", "fashion-mnist", "--subset", `${N}`, "--chunk-size", "64", "--eps", `${EPS}`, "--seed", "5"];

/** release_behaviour.py's report: means over the images the release changed. */
interface Behaviour {
  n: number;
  changed: number;
  linf: number;
  mean_abs: number;
  ce_y_clean: number;
  ce_y_poison: number;
  ce_t_clean: number;
  ce_t_poison: number;
  hit_t_clean: number;
  hit_t_poison: number;
  grad_clean: number;
  grad_poison: number;
  changed_indices: number[];
}

function cli(args: string[]) {
  const env = { ...process.env, ADVPOISON_THREADS: "1" };
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env });
  assert.equal(r.status, 0, `${args.join(" ")}\n${r.stderr}`);
}

const skip =
  needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`) ||
  needs(pythonLacks("torch", "numpy") === undefined, `python3-torch (${pythonLacks("torch", "numpy")})`);

describe("what each method's release does to its crafting model (PyTorch's measure)", {
  skip,
  timeout: 600_000,
}, () => {
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-behaviour-"));
  const crafter = join(tmp, "crafter", "model.safetensors");
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** Crafts `name` with `flags` after BASE and measures it. */
  const craft = (name: string, flags: string[]): Behaviour => {
    const out = join(tmp, name);
    cli(["craft", ...BASE, ...flags, "--out", out]);
    const r = spawnSync(SYSTEM_PYTHON, [MEASURE, crafter, FMNIST, out, `${N}`], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Behaviour;
  };
  const withCrafter = ["--crafter", crafter];
  let random: Behaviour;

  before(() => {
    // 79 % clean after 2 epochs on 4000 images here: sharp enough that 10 steps move its losses clearly.
    cli(
      ["train", "--dataset", "fashion-mnist", "--subset", "4000", "--epochs", "2", "--seed", "5"].concat(
        "--out",
        join(tmp, "crafter"),
      ),
    );
    random = craft("random", ["--method", "random"]);
  });

  /** Every image changed, within the budget. */
  const inBudget = (b: Behaviour, changed = N) => {
    assert.equal(b.changed, changed, "images changed");
    assert.ok(b.linf <= EPS && b.linf > 0, `L-inf ${b.linf} grey levels`);
  };

  test("random: uniform noise over the whole ball, the baseline of the other checks", () => {
    inBudget(random);
    // Uniform on [-16, 16] rounded has mean |delta| 8 where no clipping at 0 or 255 shrinks it.
    assert.ok(random.mean_abs > 6.5 && random.mean_abs < 9.5, `mean |delta| ${random.mean_abs}`);
    assert.equal(random.linf, EPS);
  });

  for (const [kind, flags] of [
    ["authors' augmentation", ["--steps", "10"]],
    ["quarter augmentation, 2 restarts", ["--steps", "10", "--restarts", "2", "--augment-kind", "quarter"]],
    ["no augmentation", ["--steps", "10", "--no-augment"]],
  ] as const) {
    test(`targeted (${kind}): the crafting model's loss to pi(y) falls, far more than under random noise`, () => {
      const b = craft(`targeted-${kind.replaceAll(/\W+/g, "-")}`, ["--method", "targeted", ...flags, ...withCrafter]);
      inBudget(b);
      const fall = b.ce_t_clean - b.ce_t_poison;
      const randomFall = random.ce_t_clean - random.ce_t_poison;
      assert.ok(fall > 0.05 * b.ce_t_clean, `CE to pi(y): ${b.ce_t_clean} -> ${b.ce_t_poison}`);
      assert.ok(fall > 1.5 * Math.max(randomFall, 0), `fall ${fall}, random noise's ${randomFall}`);
      assert.ok(b.hit_t_poison >= b.hit_t_clean, `predicted pi(y): ${b.hit_t_clean} -> ${b.hit_t_poison}`);
    });
  }

  /** The relative rise of the loss to y: under an untargeted attack it rises, under random noise barely. */
  const rise = (b: Behaviour) => (b.ce_y_poison - b.ce_y_clean) / b.ce_y_clean;

  test("untargeted at budget 0.5: the loss to y rises on exactly the manifest's poisoned half", () => {
    const b = craft("untargeted", ["--method", "untargeted", "--steps", "10", "--budget", "0.5", ...withCrafter]);
    inBudget(b, N / 2);
    const manifest = JSON.parse(readFileSync(join(tmp, "untargeted", "manifest.json"), "utf8"));
    assert.deepEqual(
      b.changed_indices,
      [...manifest.poisoned_indices].sort((a, c) => a - c),
    );
    assert.ok(rise(b) > 0.03 && rise(b) > 2 * rise(random), `rise ${rise(b)}, random noise's ${rise(random)}`);
  });

  test("untargeted without augmentation, written as npy: the same, on every image", () => {
    const b = craft(
      "untargeted-npy",
      ["--method", "untargeted", "--steps", "10", "--no-augment", "--format", "npy"].concat(withCrafter),
    );
    inBudget(b);
    assert.ok(readdirSync(join(tmp, "untargeted-npy")).includes("train_images.npy"));
    assert.ok(rise(b) > 0.03 && rise(b) > 2 * rise(random), `rise ${rise(b)}, random noise's ${rise(random)}`);
  });

  test("tensorclog: the crafting model's parameter-gradient norm per batch of 32 falls", () => {
    const b = craft("tensorclog", ["--method", "tensorclog", "--steps", "5", "--tc-batch-size", "32", ...withCrafter]);
    inBudget(b);
    assert.ok(b.grad_poison < 0.8 * b.grad_clean, `||grad||^2: ${b.grad_clean} -> ${b.grad_poison}`);
    assert.ok(random.grad_poison > 0.9 * random.grad_clean, "random noise leaves it");
  });

  for (const mode of ["sample", "class"]) {
    test(`error-min (${mode}-wise): every image changed within the budget`, () => {
      const flags = ["--steps", "2", "--em-train-steps", "2", "--em-max-rounds", "2", "--em-mode", mode];
      const b = craft(`error-min-${mode}`, ["--method", "error-min", ...flags]);
      inBudget(b);
      assert.ok(b.mean_abs > 1, `mean |delta| ${b.mean_abs}`);
    });
  }

  test("on one machine the same command gives the same bytes", () => {
    const flags = ["--method", "targeted", "--steps", "3", ...withCrafter];
    cli(["craft", ...BASE, ...flags, "--out", join(tmp, "again-1")]);
    cli(["craft", ...BASE, ...flags, "--out", join(tmp, "again-2")]);
    for (const f of readdirSync(join(tmp, "again-1")).filter((f) => f !== "manifest.json")) {
      assert.ok(
        readFileSync(join(tmp, "again-1", f)).equals(readFileSync(join(tmp, "again-2", f))),
        `${f} differs between two runs of one command`,
      );
    }
  });
});
