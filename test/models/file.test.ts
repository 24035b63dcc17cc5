// Model files: metadata is checked field by field before anything is allocated, and the architecture a
// caller names must agree with the one the file records.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createModel, loadModel, saveModel } from "../../src/models/index.js";
import { saveSafetensors } from "../../src/torch/index.js";

const dir = mkdtempSync(join(tmpdir(), "advpoison-model-file-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const INFO = { model: "smallcnn-bn", inChannels: 1, numClasses: 10, imageSize: 28 };
const model = createModel(INFO.model, INFO);
const good = join(dir, "good.safetensors");
saveModel(good, model, INFO);
const META = { advpoison_model: "smallcnn-bn", in_channels: "1", num_classes: "10", image_size: "28" };

/** The good model's tensors under other metadata. */
function withMetadata(name: string, metadata: Record<string, string>): string {
  const path = join(dir, `${name}.safetensors`);
  saveSafetensors(path, model.stateDict(), metadata);
  return path;
}

test("loadModel: each bad metadata field is named, before a model is built", () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ["classes", { ...META, num_classes: "1e9" }, /metadata num_classes '1e9' is not an integer from 1 to 100000/],
    [
      "channels",
      { ...META, in_channels: "99999999" },
      /metadata in_channels '99999999' is not an integer from 1 to 64/,
    ],
    ["size", { ...META, image_size: "0" }, /metadata image_size '0' is not an integer from 1 to 4096/],
    ["negative", { ...META, num_classes: "-3" }, /metadata num_classes '-3'/],
    ["fraction", { ...META, image_size: "27.5" }, /metadata image_size '27.5'/],
    ["name", { ...META, advpoison_model: "resnet9000" }, /metadata advpoison_model 'resnet9000' is not a known model/],
  ];
  for (const [name, metadata, pattern] of cases) {
    const path = withMetadata(name, metadata);
    assert.throws(
      () => loadModel(path),
      (e: Error) => e.message.startsWith(`${path}: `) && pattern.test(e.message),
    );
  }
  const loaded = loadModel(good);
  assert.deepEqual(loaded.info, INFO);
  loaded.model.dispose();
});

test("loadModel: a caller's architecture that disagrees with the file's is an error; one that agrees loads", () => {
  assert.throws(
    () => loadModel(good, { model: "resnet18" }),
    /holds a 'smallcnn-bn' model, but 'resnet18' was asked for/,
  );
  const agreed = loadModel(good, { model: "smallcnn-bn" });
  agreed.model.dispose();
  // A file without our metadata takes the caller's architecture and shape.
  const bare = withMetadata("bare", {});
  const fromFallback = loadModel(bare, INFO);
  assert.deepEqual(fromFallback.info, INFO);
  fromFallback.model.dispose();
  assert.throws(() => loadModel(bare, { ...INFO, model: "vgg99" }), /unknown model 'vgg99'/);
});

test("loadModel: a directory or a missing file is named as such", () => {
  assert.throws(() => loadModel(dir), new RegExp(`^Error: ${dir}: is a directory, not a model file`));
  assert.throws(
    () => loadModel(join(dir, "none.safetensors")),
    /none\.safetensors: cannot read the model file \(ENOENT\)/,
  );
});
