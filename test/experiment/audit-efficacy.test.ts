// The audit tells a poison from noise: on the first 2000 Fashion-MNIST images, a random-noise release at eps 32
// leaves its victims where the clean ones are (protection near 0), while a class-targeted release at the same
// eps, crafted against a SmallCNN-BN trained here, keeps early-stopped victims well below them. Measured at one
// thread: random -0.9 points, targeted 16.5 points (10 PGD steps of 0.25 eps, victims of 4 epochs scored on 1000
// test images). About three minutes on one thread.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { needs } from "../requirements.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const CLI = join(process.cwd(), "dist/src/cli/main.js");
const SUBSET = ["--subset", "2000"];

function cli(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [CLI, ...args, "--json"], {
    encoding: "utf8",
    env: { ...process.env, CI: "1", ADVPOISON_THREADS: process.env.ADVPOISON_THREADS ?? "1" },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

interface Audit {
  clean_acc: number;
  protection: number;
  plain_stopped_acc: number;
  worst_case: { acc: number };
}

describe("audit: noise against a poison", {
  skip: needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`),
  timeout: 900_000,
}, () => {
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-audit-efficacy-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const audits: Record<string, Audit> = {};

  before(() => {
    const crafter = join(tmp, "crafter");
    cli(["train", ...SUBSET, "--epochs", "3", "--out", crafter]);
    const poison = ["--eps", "32", "--steps", "10", "--tau", "0.25"];
    const releases = {
      random: ["--method", "random", "--eps", "32"],
      targeted: ["--method", "targeted", "--crafter", join(crafter, "model.safetensors"), ...poison],
    };
    for (const [name, how] of Object.entries(releases)) {
      const dir = join(tmp, name);
      cli(["craft", "--dataset", "fashion-mnist", ...SUBSET, ...how, "--out", dir]);
      audits[name] = cli([
        "audit",
        ...["--release", dir, "--source", "fashion-mnist", "--defenses", "none", "--victims", "smallcnn-bn"],
        ...["--epochs", "4", "--test-subset", "2000", "--out", join(tmp, `audit-${name}`)],
      ]) as unknown as Audit;
    }
  });

  test("the clean counterparts are the same victims in both audits", () => {
    assert.equal(audits.random!.clean_acc, audits.targeted!.clean_acc);
    assert.ok(audits.random!.clean_acc > 0.6, `clean victims at ${audits.random!.clean_acc}`);
  });

  test("random noise: protection near 0; the targeted release: more, by a margin", (t) => {
    const random = audits.random!.protection;
    const targeted = audits.targeted!.protection;
    t.diagnostic(`clean ${audits.random!.clean_acc}; protection: random ${random}, targeted ${targeted}`);
    assert.ok(Math.abs(random) < 0.05, `random noise protects by ${random}`);
    assert.ok(targeted > random + 0.06, `targeted ${targeted} against random ${random}`);
    assert.equal(audits.targeted!.worst_case.acc, audits.targeted!.plain_stopped_acc);
  });
});
