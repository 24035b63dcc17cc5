// The bad-input corpus: inputs a careful user (or an attacker) may hand the CLI, each with the one-line
// error it must give. bad-input-corpus.test.ts runs every row in its own process and checks that nothing
// crashed, one error line named the problem, the exit code is not 0 and no existing file changed.
//
// To add a case, append a row: `setup` builds the inputs inside `dir` (a fresh directory, the one whose
// files must not change), `args` is the command line after `advpoison`, `error` what stderr must say.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { encodeIdx } from "../../src/data/idx.js";
import { encodePng } from "../../src/data/image.js";
import { createModel, saveModel } from "../../src/models/index.js";
import { cudaIsAvailable, noGrad, saveSafetensors, zeros } from "../../src/torch/index.js";
import { encodeCheckpoint } from "../../src/train/index.js";
import { MARKER_FILE } from "../../src/util/ownership.js";
import { gzipBomb, pixels, pngHeader, writeIdxFixture, writeNpy } from "../data/fixtures.js";

export interface BadInput {
  name: string;
  /** Writes the inputs into `dir`. */
  setup: (dir: string) => void;
  /** The arguments after `advpoison`. */
  args: (dir: string) => string[];
  /** What the error line must say (after "advpoison: error: "). */
  error: RegExp;
}

/** An MNIST-style dataset (12 + 5 images of 8x6, 10 classes) in dir/mnist, gzipped unless told. */
function mnist(dir: string, gzip = true): string {
  return writeIdxFixture(join(dir, "mnist"), gzip).dir;
}

const evaluateOn =
  (dataset: string, checkpoint = "model.safetensors") =>
  (dir: string) => ["evaluate", "--checkpoint", join(dir, checkpoint), "--dataset", dataset.replace("DIR", dir)];

/** A model file with the given metadata (one tensor: the checks under test come before loading weights). */
function modelFile(path: string, metadata: Record<string, string> = {}): void {
  const tensor = zeros([1]);
  saveSafetensors(
    path,
    { w: tensor },
    {
      advpoison_model: "smallcnn-bn",
      in_channels: "1",
      num_classes: "10",
      image_size: "8",
      ...metadata,
    },
  );
  tensor.dispose();
}

function withModel(dir: string, metadata: Record<string, string> = {}): void {
  mnist(dir);
  modelFile(join(dir, "model.safetensors"), metadata);
}

function put(path: string, bytes: Uint8Array | string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, bytes);
}

function folderImages(root: string, files: string[]): void {
  for (const [i, file] of files.entries()) put(join(root, file), encodePng(pixels(4 * 4 * 3, i), 4, 4, 3));
}

/** MNIST-style square 8x8 images (16 train, 4 test) in dir/square, which the CIFAR zoo's SmallCNN takes. */
export function squareMnist(dir: string): string {
  const root = join(dir, "square");
  for (const [split, n] of [
    ["train", 16],
    ["t10k", 4],
  ] as const) {
    put(join(root, `${split}-images-idx3-ubyte`), encodeIdx([n, 8, 8], pixels(n * 64, n)));
    put(
      join(root, `${split}-labels-idx1-ubyte`),
      encodeIdx(
        [n],
        Uint8Array.from({ length: n }, (_, i) => i % 10),
      ),
    );
  }
  return root;
}

/** A SmallCNN-BN for 8x8 images whose conv1 weight went NaN (a diverged training run). */
function nanModel(path: string): void {
  const info = { model: "smallcnn-bn", inChannels: 1, numClasses: 10, imageSize: 8 };
  const m = createModel(info.model, info);
  noGrad(() => m.stateDict().get("conv1.weight")!.fill_(Number.NaN));
  saveModel(path, m, info);
  m.dispose();
}

/** A user's folder: their work, plus files that merely carry the names of advpoison's own. */
function usersFolder(dir: string): string {
  const mine = join(dir, "documents");
  put(join(mine, "thesis.tex"), "years of work");
  for (const name of ["run.json", "plan.json", "manifest.json"]) put(join(mine, name), '{"tool": "advpoison"}');
  return mine;
}
/**
 * A random-noise release (eps 8) of the MNIST-style fixture in dir/release, made by the CLI: what `audit` is
 * handed. The fixture's source is in dir/mnist.
 */
function withRelease(dir: string): void {
  mnist(dir);
  const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
  const args = ["craft", "--dataset", `mnist:${dir}/mnist`, "--method", "random", "--eps", "8"];
  const r = spawnSync(process.execPath, [cli, ...args, "--out", join(dir, "release")], {
    encoding: "utf8",
    env: { ...process.env, ADVPOISON_THREADS: "1" },
  });
  if (r.status !== 0) throw new Error(`crafting the fixture release failed: ${r.stderr}`);
}

const auditOf =
  (source: string, ...more: string[]) =>
  (dir: string) => [
    "audit",
    ...["--release", join(dir, "release"), "--source", source.replace("DIR", dir)],
    ...["--epochs", "1", "--out", join(dir, "audit"), ...more],
  ];

/** A photo collection protect takes: two class folders of 8x8 RGB PNGs in dir/photos, a 2-class RGB crafter. */
function photoCollection(dir: string): void {
  for (const [i, rel] of ["cat/a.png", "dog/b.png"].entries())
    put(join(dir, "photos", rel), encodePng(pixels(8 * 8 * 3, i), 8, 8, 3));
  const info = { model: "smallcnn-bn", inChannels: 3, numClasses: 2, imageSize: 8 };
  const m = createModel(info.model, info);
  saveModel(join(dir, "crafter.safetensors"), m, info);
  m.dispose();
}

/** `protect` of photoCollection(dir) into dir/out, quick settings, then `extra`. */
const protectArgs = (dir: string, ...extra: string[]) =>
  ["protect", join(dir, "photos"), "--out", join(dir, "out"), "--crafter", join(dir, "crafter.safetensors")].concat(
    "--input-size",
    "8",
    "--steps",
    "1",
    "--views",
    "1",
    ...extra,
  );

/** A protected tree's manifest in dir/protected whose one photo path is `path` (the rest well-formed). */
function protectedManifest(dir: string, path: string): void {
  const sha = "0".repeat(64);
  const settings = {
    method: "targeted",
    eps: 8,
    steps: 1,
    step_size: 0.4,
    views: 1,
    input_side: 8,
    labels: "folders",
    jpeg_quality: 95,
    jpeg_margin: 3,
    seed: 0,
    precision: "fp32",
    crafters: [{ model: "smallcnn-bn", sha256: sha }],
    num_classes: 2,
  };
  const photo = {
    path,
    width: 8,
    height: 8,
    format: "png",
    source_sha256: sha,
    sha256: sha,
    label: 0,
    target: 1,
    clean_pred: 0,
    pred: 1,
    fooled: true,
    fooled_before_encoding: true,
    linf: 8,
    psnr: 30,
    ssim: 0.9,
    kept: 1,
    seconds: 1,
  };
  const summary = {
    count: 1,
    skipped: 0,
    max_linf: 8,
    same_sizes: true,
    attack_success: 1,
    attack_success_before_encoding: 1,
    mean_psnr: 30,
    mean_ssim: 0.9,
    mean_kept: 1,
    seconds: 1,
  };
  const manifest = { tool: "advpoison", kind: "protected-photos", version: "0.1.0", source: join(dir, "photos") };
  put(
    join(dir, "protected", "manifest.json"),
    JSON.stringify({
      ...manifest,
      created: "2025-01-01T00:00:00.000Z",
      settings,
      settings_sha256: sha,
      class_names: ["cat", "dog"],
      summary,
      photos: [photo],
      skipped: [],
      ignored: [],
    }),
  );
}

const gzipped = (name: string) => `mnist/${name}-idx${name.includes("images") ? 3 : 1}-ubyte.gz`;

export const BAD_INPUTS: BadInput[] = [
  {
    name: "gzip with a flipped byte (CRC mismatch)",
    setup: (dir) => {
      withModel(dir);
      const file = join(dir, gzipped("train-images"));
      const bytes = new Uint8Array(fileBytes(file));
      bytes[bytes.length - 20]! ^= 0xff;
      writeFileSync(file, bytes);
    },
    args: evaluateOn("mnist:DIR/mnist"),
    error: /train-images-idx3-ubyte\.gz: corrupt or truncated gzip data: incorrect data check/,
  },
  {
    name: "truncated gzip",
    setup: (dir) => {
      withModel(dir);
      const file = join(dir, gzipped("train-labels"));
      const bytes = fileBytes(file);
      writeFileSync(file, bytes.subarray(0, bytes.length - 9));
    },
    args: evaluateOn("mnist:DIR/mnist"),
    error: /train-labels-idx1-ubyte\.gz: corrupt.* truncated/,
  },
  {
    name: "gzip bomb: 1.5 GB of zeros in 1.5 MB",
    setup: (dir) => {
      withModel(dir);
      writeFileSync(join(dir, gzipped("train-labels")), gzipBomb(1.5e9));
    },
    args: evaluateOn("mnist:DIR/mnist"),
    error: /train-labels-idx1-ubyte\.gz: not an IDX file: bad magic number 0x00000000/,
  },
  {
    name: "gzip bomb behind a valid IDX header",
    setup: (dir) => {
      withModel(dir);
      writeFileSync(join(dir, gzipped("train-labels")), gzipBomb(1.5e9, encodeIdx([12], new Uint8Array(0))));
    },
    args: evaluateOn("mnist:DIR/mnist"),
    error: /header announces 20 bytes but the gzip trailer 1500000000/,
  },
  {
    name: "IDX file with the wrong magic",
    setup: (dir) => {
      mnist(dir, false);
      modelFile(join(dir, "model.safetensors"));
      writeFileSync(join(dir, "mnist/train-images-idx3-ubyte"), "GIF89a, not an IDX file at all");
    },
    args: evaluateOn("mnist:DIR/mnist"),
    error: /train-images-idx3-ubyte: not an IDX file: bad magic number 0x47494638/,
  },
  {
    name: "IDX images of the wrong shape (2 dimensions)",
    setup: (dir) => {
      mnist(dir, false);
      modelFile(join(dir, "model.safetensors"));
      writeFileSync(join(dir, "mnist/train-images-idx3-ubyte"), encodeIdx([12, 48], pixels(12 * 48)));
    },
    args: evaluateOn("mnist:DIR/mnist"),
    error: /IDX images must have 3 dimensions \(count, rows, columns\), found 2/,
  },
  {
    name: "IDX images truncated",
    setup: (dir) => {
      mnist(dir, false);
      modelFile(join(dir, "model.safetensors"));
      writeFileSync(
        join(dir, "mnist/train-images-idx3-ubyte"),
        encodeIdx([12, 8, 6], pixels(12 * 48)).subarray(0, 300),
      );
    },
    args: evaluateOn("mnist:DIR/mnist"),
    error: /IDX file truncated: dimensions 12x8x6 need 592 bytes, found 300/,
  },
  {
    name: "label out of range",
    setup: (dir) => {
      mnist(dir, false);
      modelFile(join(dir, "model.safetensors"));
      writeFileSync(join(dir, "mnist/t10k-labels-idx1-ubyte"), encodeIdx([5], Uint8Array.of(1, 2, 12, 3, 4)));
    },
    args: evaluateOn("mnist:DIR/mnist"),
    error: /t10k-labels-idx1-ubyte: label out of range: sample 2 has label 12, expected 0\.\.9/,
  },
  {
    name: "image/label count mismatch",
    setup: (dir) => {
      mnist(dir, false);
      modelFile(join(dir, "model.safetensors"));
      writeFileSync(join(dir, "mnist/train-labels-idx1-ubyte"), encodeIdx([11], new Uint8Array(11)));
    },
    args: evaluateOn("mnist:DIR/mnist"),
    error: /image\/label count mismatch: 12 images in train-images-idx3-ubyte but 11 labels/,
  },
  {
    name: ".npy label of 2^31-1 without class_names.txt",
    setup: (dir) => {
      modelFile(join(dir, "model.safetensors"));
      mkdirSync(join(dir, "npy"));
      for (const [split, labels] of [
        ["train", [0, 1, 2147483647, 1]],
        ["test", [0, 1]],
      ] as const) {
        writeNpy(join(dir, `npy/${split}_images.npy`), "|u1", [labels.length, 8, 8], pixels(labels.length * 64));
        writeNpy(
          join(dir, `npy/${split}_labels.npy`),
          "<i4",
          [labels.length],
          new Uint8Array(Int32Array.from(labels).buffer),
        );
      }
    },
    args: evaluateOn("npy:DIR/npy"),
    error: /train_labels\.npy: label out of range: sample 2 has label 2147483647, which would make 2147483648 classes/,
  },
  {
    name: "image folder: a class only in test/",
    setup: (dir) => {
      modelFile(join(dir, "model.safetensors"), { in_channels: "3", num_classes: "2", image_size: "4" });
      folderImages(join(dir, "tree"), ["train/ant/1.png", "train/bee/2.png", "test/ant/3.png", "test/cat/4.png"]);
    },
    args: evaluateOn("folder:DIR/tree"),
    error: /tree\/test: class 'cat' of test\/ is not a class of train\/ \(2 classes\)/,
  },
  {
    name: "image folder: a PNG header claiming 100000x100000",
    setup: (dir) => {
      modelFile(join(dir, "model.safetensors"), { in_channels: "3", num_classes: "2", image_size: "4" });
      folderImages(join(dir, "tree"), ["train/ant/1.png", "test/ant/3.png"]);
      put(join(dir, "tree/train/bee/huge.png"), pngHeader(100000, 100000));
    },
    args: evaluateOn("folder:DIR/tree"),
    error: /huge\.png: image header claims 100000x100000 = 10000000000 pixels, more than the 89478485-pixel limit/,
  },
  {
    name: "missing dataset directory",
    setup: (dir) => modelFile(join(dir, "model.safetensors")),
    args: evaluateOn("npy:DIR/nothing-here"),
    error: /dataset npy \(train split\) not found: looked for train_images\.npy, train_labels\.npy in .*nothing-here/,
  },
  {
    name: "unknown dataset name",
    setup: (dir) => modelFile(join(dir, "model.safetensors")),
    args: evaluateOn("imagenet9"),
    error: /unknown dataset "imagenet9"; expected one of fashion-mnist/,
  },
  {
    name: "eps out of range",
    setup: (dir) => withModel(dir),
    args: (dir) => [
      "craft",
      ...["--dataset", `mnist:${dir}/mnist`, "--crafter", join(dir, "model.safetensors")],
      ...["--eps", "300", "--out", join(dir, "release")],
    ],
    error: /eps must be in \(0, 64\] grey levels \(e\.g\. 8 for 8\/255\), got 300/,
  },
  {
    name: "checkpoint metadata: num_classes 1e9",
    setup: (dir) => withModel(dir, { num_classes: "1e9" }),
    args: evaluateOn("mnist:DIR/mnist"),
    error: /model\.safetensors: metadata num_classes '1e9' is not an integer from 1 to 100000/,
  },
  {
    name: "checkpoint metadata: in_channels 99999999",
    setup: (dir) => withModel(dir, { in_channels: "99999999" }),
    args: evaluateOn("mnist:DIR/mnist"),
    error: /model\.safetensors: metadata in_channels '99999999' is not an integer from 1 to 64/,
  },
  {
    name: "checkpoint metadata: unknown architecture",
    setup: (dir) => withModel(dir, { advpoison_model: "resnet9000" }),
    args: evaluateOn("mnist:DIR/mnist"),
    error: /metadata advpoison_model 'resnet9000' is not a known model/,
  },
  {
    name: "checkpoint that is not a safetensors file",
    setup: (dir) => {
      mnist(dir);
      writeFileSync(join(dir, "model.safetensors"), "PK\u0003\u0004 a zip file, as torch.save writes");
    },
    args: evaluateOn("mnist:DIR/mnist"),
    error: /safetensors file '.*model\.safetensors': header length \d+ exceeds/,
  },
  {
    name: "a directory given as the checkpoint file",
    setup: (dir) => {
      mnist(dir);
      mkdirSync(join(dir, "checkpoints"));
    },
    args: evaluateOn("mnist:DIR/mnist", "checkpoints"),
    error: /checkpoints: is a directory, not a model file \(\.safetensors\)/,
  },
  {
    name: "--crafter-model disagrees with the crafter file",
    setup: (dir) => withModel(dir),
    args: (dir) => [
      "craft",
      ...["--dataset", `mnist:${dir}/mnist`, "--crafter", join(dir, "model.safetensors")],
      ...["--crafter-model", "resnet18", "--out", join(dir, "release")],
    ],
    error: /model\.safetensors: the file holds a 'smallcnn-bn' model, but 'resnet18' was asked for/,
  },
  {
    name: "an existing output without --force",
    setup: (dir) => {
      withModel(dir);
      put(join(dir, "release/notes.txt"), "a user's own file");
    },
    args: (dir) => [
      "craft",
      ...["--dataset", `mnist:${dir}/mnist`, "--crafter", join(dir, "model.safetensors")],
      ...["--out", join(dir, "release")],
    ],
    error: /release exists; pass --force to replace it/,
  },
  {
    name: "invalid --shard (nothing may be written into --out)",
    setup: (dir) => withModel(dir),
    args: (dir) => [
      "craft",
      ...["--dataset", `mnist:${dir}/mnist`, "--crafter", join(dir, "model.safetensors")],
      ...["--shard", "2/2", "--out", join(dir, "shard")],
    ],
    error: /--shard must be i\/n with 0 <= i < n, got '2\/2'/,
  },
  {
    name: "a whole-set method sharded",
    setup: (dir) => mnist(dir),
    args: (dir) => [
      "craft",
      "--dataset",
      `mnist:${dir}/mnist`,
      "--method",
      "error-min",
      "--shard",
      "0/2",
      "--out",
      join(dir, "s"),
    ],
    error: /error-min cannot be sharded: it optimises all poisoned images together/,
  },
  {
    name: "unknown poison method",
    setup: (dir) => mnist(dir),
    args: (dir) => ["craft", "--dataset", `mnist:${dir}/mnist`, "--method", "bogus", "--out", join(dir, "r")],
    error: /unknown method 'bogus' \(random, error-min, tensorclog, lsp, ops, untargeted, targeted\)/,
  },
  {
    name: "another method's flag",
    setup: (dir) => withModel(dir),
    args: (dir) => [
      "craft",
      ...["--dataset", `mnist:${dir}/mnist`, "--crafter", join(dir, "model.safetensors")],
      ...["--em-mode", "class", "--out", join(dir, "r")],
    ],
    error: /--em-mode applies to --method error-min only/,
  },
  {
    name: "unknown augmentation",
    setup: (dir) => withModel(dir),
    args: (dir) => [
      "craft",
      ...["--dataset", `mnist:${dir}/mnist`, "--crafter", join(dir, "model.safetensors")],
      ...["--augment-kind", "sideways", "--out", join(dir, "r")],
    ],
    error: /augmentation must be authors or quarter, got 'sideways'/,
  },
  {
    name: "a usage error (bad option value)",
    setup: (dir) => mnist(dir),
    args: (dir) => ["craft", "--dataset", `mnist:${dir}/mnist`, "--eps", "zero", "--out", join(dir, "r")],
    error: /option '--eps <levels>' argument 'zero' is invalid\. expected a positive number/,
  },
  {
    name: "experiment config with a __proto__ key",
    setup: (dir) => put(join(dir, "evil.json"), '{"experiment": "budget", "__proto__": {"runs": 1}}'),
    args: (dir) => ["experiment", "budget", "--config", join(dir, "evil.json"), "--out", join(dir, "run")],
    error: /evil\.json: forbidden key '__proto__' at __proto__ in the config/,
  },
  {
    name: "experiment config that is a directory",
    setup: (dir) => mkdirSync(join(dir, "config.json")),
    args: (dir) => ["experiment", "budget", "--config", join(dir, "config.json"), "--out", join(dir, "run")],
    error: /config\.json: not a readable JSON config \(EISDIR/,
  },
  {
    name: "report of a directory whose only manifest is damaged",
    setup: (dir) => put(join(dir, "runs/release/manifest.json"), '{"plan": {"recipe": "targ'),
    args: (dir) => ["report", join(dir, "runs")],
    error: /nothing to report: .*; skipped .*release\/manifest\.json: unreadable manifest/,
  },
  {
    name: "craft with a crafting model whose weights are NaN",
    setup: (dir) => {
      squareMnist(dir);
      nanModel(join(dir, "nan.safetensors"));
    },
    args: (dir) =>
      ["craft", "--dataset", `mnist:${dir}/square`, "--crafter", join(dir, "nan.safetensors")].concat(
        "--out",
        join(dir, "release"),
      ),
    error: /the crafting model's conv1\.weight holds NaN or infinite values \(its training diverged\)/,
  },
  {
    name: "train after a kill, without --resume",
    setup: (dir) => {
      mnist(dir);
      put(join(dir, "run", "checkpoint.safetensors"), "a killed run's checkpoint");
      put(join(dir, "run", MARKER_FILE), "");
    },
    args: (dir) => ["train", "--dataset", `mnist:${dir}/mnist`, "--epochs", "1", "--out", join(dir, "run")],
    error: /checkpoint\.safetensors: an unfinished run \(killed\?\); pass --resume to continue it or --force/,
  },
  {
    name: "train --snapshots after the last epoch",
    setup: (dir) => mnist(dir),
    args: (dir) =>
      ["train", "--dataset", `mnist:${dir}/mnist`, "--epochs", "2", "--snapshots", "1,3"].concat(
        "--out",
        join(dir, "run"),
      ),
    error: /--snapshots 3: the run has only 2 epochs/,
  },
  {
    name: "train --resume from a checkpoint with a flipped bit",
    setup: (dir) => {
      mnist(dir);
      const w = zeros([4]);
      const sealed = encodeCheckpoint(new Map([["w", w]]), { format: "advpoison-checkpoint/1", epochs_done: "1" });
      w.dispose();
      sealed[sealed.length - 1]! ^= 0x01;
      put(join(dir, "run", "checkpoint.safetensors"), sealed);
      put(join(dir, "run", MARKER_FILE), "");
    },
    args: (dir) =>
      ["train", "--dataset", `mnist:${dir}/mnist`, "--epochs", "2", "--resume"].concat("--out", join(dir, "run")),
    error: /checkpoint\.safetensors: checkpoint is damaged \(its tensors do not match their checksum\)/,
  },
  {
    name: "craft again after a kill, without --resume",
    setup: (dir) => {
      mnist(dir);
      put(join(dir, "release.work", "chunk-000000.safetensors"), "a killed run's chunk");
    },
    args: (dir) => ["craft", "--dataset", `mnist:${dir}/mnist`, "--method", "random", "--out", join(dir, "release")],
    error: /release\.work: an earlier craft's chunks \(killed\?\); pass --resume to continue or --force to start over/,
  },
  {
    name: "craft --force beside a user's folder named like its work directory",
    setup: (dir) => {
      mnist(dir);
      put(join(dir, "release.work", "thesis.tex"), "years of work");
    },
    args: (dir) =>
      ["craft", "--dataset", `mnist:${dir}/mnist`, "--method", "random", "--force"].concat(
        "--out",
        join(dir, "release"),
      ),
    error:
      /release\.work: not advpoison's crafting work directory \(no valid \.advpoison-output\.json\); left in place/,
  },
  {
    name: "train --force into a user's folder that holds a run.json",
    setup: (dir) => {
      mnist(dir);
      usersFolder(dir);
    },
    args: (dir) => ["train", "--dataset", `mnist:${dir}/mnist`, "--force", "--out", join(dir, "documents")],
    error:
      /documents is not empty and not an advpoison training run \(it holds (manifest\.json|plan\.json|thesis\.tex)\)/,
  },
  {
    name: "craft --force over a user's folder that holds run.json, plan.json and an advpoison manifest",
    setup: (dir) => {
      mnist(dir);
      usersFolder(dir);
    },
    args: (dir) =>
      ["craft", "--dataset", `mnist:${dir}/mnist`, "--method", "random", "--force"].concat(
        "--out",
        join(dir, "documents"),
      ),
    error: /documents is not an advpoison output \(no valid \.advpoison-output\.json\)/,
  },
  {
    name: "protect --seed that is not a number",
    setup: photoCollection,
    args: (dir) => protectArgs(dir, "--seed", "abc"),
    error: /option '--seed <n>' argument 'abc' is invalid\. expected a non-negative integer/,
  },
  {
    name: "protect --views 1e9",
    setup: photoCollection,
    args: (dir) => protectArgs(dir, "--views", "1000000000"),
    error: /option '--views <n>' argument '1000000000' is invalid\. expected an integer from 1 to 64/,
  },
  {
    name: "protect --num-classes 1e12",
    setup: photoCollection,
    args: (dir) => protectArgs(dir, "--num-classes", "1000000000000"),
    error: /option '--num-classes <n>' argument '1000000000000' is invalid\. expected an integer from 1 to 100000/,
  },
  {
    name: "protect --input-size 1e6",
    setup: photoCollection,
    args: (dir) => protectArgs(dir, "--input-size", "1000000"),
    error: /option '--input-size <px>' argument '1000000' is invalid\. expected an integer from 1 to 4096/,
  },
  {
    name: "protect --out inside the source through a symbolic link",
    setup: (dir) => {
      photoCollection(dir);
      symlinkSync(join(dir, "photos"), join(dir, "elsewhere"));
    },
    args: (dir) => protectArgs(dir, "--out", join(dir, "elsewhere", "protected")),
    error: /--out .*elsewhere\/protected is inside the source .*photos: the protected copy must go elsewhere/,
  },
  {
    name: "protect --out that holds the source",
    setup: photoCollection,
    args: (dir) => protectArgs(dir, "--out", dir),
    error: /--out .* holds the source .*photos: the protected copy must go elsewhere/,
  },
  {
    name: "verify of a protected tree whose manifest path climbs out of both trees",
    setup: (dir) => {
      photoCollection(dir);
      put(join(dir, "outside", "secret.png"), encodePng(pixels(8 * 8 * 3, 7), 8, 8, 3));
      protectedManifest(dir, "../outside/secret.png");
    },
    args: (dir) => ["verify", "--protected", join(dir, "protected"), "--source", join(dir, "photos"), "--eps", "8"],
    error: /manifest\.json: malformed manifest \(photos\.0\.path: not a relative path inside the tree\)/,
  },
  {
    name: "audit of a directory that is not a release",
    setup: (dir) => {
      mnist(dir);
      mkdirSync(join(dir, "release"));
    },
    args: auditOf("mnist:DIR/mnist"),
    error: /release: no manifest\.json; not an advpoison release/,
  },
  {
    name: "audit of a release whose images were changed after it was written",
    setup: (dir) => {
      withRelease(dir);
      const file = join(dir, "release/train-images-idx3-ubyte.gz");
      writeFileSync(file, gzipSync(encodeIdx([12, 8, 6], pixels(12 * 8 * 6, 99))));
    },
    args: auditOf("mnist:DIR/mnist"),
    error:
      /release fails verify against mnist:.*mnist at its eps 8: changed file train-images-idx3-ubyte\.gz: its sha256 differs from the manifest.s \(and \d+ more problems\)/,
  },
  {
    name: "audit against another dataset than the release's",
    setup: (dir) => withRelease(dir),
    args: auditOf("fashion-mnist:DIR/mnist"),
    error: /the release was made from mnist, not fashion-mnist \(--source\)/,
  },
  {
    name: "audit against a source of another size",
    setup: (dir) => withRelease(dir),
    args: auditOf("mnist:DIR/mnist", "--subset", "10"),
    error:
      /the release has 12 training images, the source \(its first 10\) 10: pass the --subset it was crafted with \(all\)/,
  },
  {
    name: "audit against a source whose images are not the release's within its budget",
    setup: (dir) => {
      withRelease(dir);
      const other = writeIdxFixture(join(dir, "other"), true).dir;
      writeFileSync(join(other, "train-images-idx3-ubyte.gz"), gzipSync(encodeIdx([12, 8, 6], pixels(12 * 8 * 6, 7))));
    },
    args: auditOf("mnist:DIR/other"),
    error: /release fails verify against mnist:.*other at its eps 8: .*images exceed eps 8/,
  },
  {
    name: "audit with an unknown defence",
    setup: (dir) => withRelease(dir),
    args: auditOf("mnist:DIR/mnist", "--defenses", "none,jpeg7"),
    error: /unknown defense 'jpeg7' \(none, adversarial, .*; NAME:VALUE sets adversarial:EPS, .*jpeg:QUALITY/,
  },
  {
    name: "audit with a defence value the defence refuses",
    setup: (dir) => withRelease(dir),
    args: auditOf("mnist:DIR/mnist", "--defenses", "bdr:9"),
    error: /defense 'bdr:9': bdr: bits must be an integer in 1\.\.8, got 9/,
  },
  {
    name: "audit with an unknown victim architecture",
    setup: (dir) => withRelease(dir),
    args: auditOf("mnist:DIR/mnist", "--victims", "smallcnn-bn,resnet99"),
    error: /unknown victim architecture 'resnet99' \(.*smallcnn-bn/,
  },
  {
    name: "audit into a directory that is not an audit's",
    setup: (dir) => {
      withRelease(dir);
      put(join(dir, "audit/notes.txt"), "a user's own file");
    },
    args: auditOf("mnist:DIR/mnist"),
    error:
      /audit is not empty and not an advpoison audit \(it holds no valid \.advpoison-output\.json\); choose another --out/,
  },
  {
    name: "audit into the release it audits",
    setup: (dir) => withRelease(dir),
    args: (dir) => [...auditOf("mnist:DIR/mnist")(dir).slice(0, -2), "--out", join(dir, "release")],
    error: /release is not empty and not an advpoison audit \(it holds advpoison's release\); choose another --out/,
  },
  {
    name: "verify of a release whose manifest is a JSON array",
    setup: (dir) => {
      mnist(dir);
      put(join(dir, "release", "manifest.json"), "[]");
    },
    args: (dir) => ["verify", "--source", `mnist:${dir}/mnist`, "--release", join(dir, "release"), "--eps", "8"],
    error: /manifest\.json: not an advpoison release manifest \(the top level: /,
  },
  {
    name: "craft --out through a file where a directory is needed",
    setup: (dir) => {
      mnist(dir);
      put(join(dir, "file"), "mine");
    },
    args: (dir) => ["craft", "--dataset", `mnist:${dir}/mnist`, "--method", "random", "--out", join(dir, "file", "x")],
    error: /file\/x\.work: a file is in the way where a directory is needed \(ENOTDIR in mkdir\)/,
  },
  // Only where there is no GPU: elsewhere training on cuda is no error.
  ...(cudaIsAvailable()
    ? []
    : [
        {
          name: "train on --device cuda with a CPU-only libtorch",
          setup: (dir: string) => void squareMnist(dir),
          args: (dir: string) => [
            "train",
            "--dataset",
            `mnist:${dir}/square`,
            "--device",
            "cuda",
            "--out",
            join(dir, "run"),
          ],
          error: /device 'cuda' is not usable with this libtorch: /,
        },
      ]),
];

/** A file's bytes (a copy). */
function fileBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
