// What the protect tests share: the CLI run as a user runs it (one thread), its JSON result, and a small crafter.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { createModel, saveModel } from "../../src/models/index.js";
import { manualSeed } from "../../src/torch/index.js";

export const CLI = join(process.cwd(), "dist/src/cli/main.js");
export const env = { ...process.env, ADVPOISON_THREADS: "1" };
export const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env });
export const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!);

/** A small seeded CIFAR-style ResNet-18 with two classes at a 32 px input: fast enough for a test. */
export function writeCrafter(path: string): void {
  manualSeed(0);
  const m = createModel("resnet18", { inChannels: 3, numClasses: 2, imageSize: 32 });
  saveModel(path, m, { model: "resnet18", inChannels: 3, numClasses: 2, imageSize: 32 });
  m.dispose();
}
