// Peak resident memory of commands on folder datasets of different sizes: streamed folder datasets should
// not grow with the number of images. Generates ImageFolder trees of N random SIDE x SIDE RGB PNGs (10
// classes, train/ of N images, test/ of a fixed TEST images), then runs, each as its own child process
// (`advpoison`, ADVPOISON_THREADS=1): `train` (1 epoch, smallcnn-bn, recipe fast), `craft` (targeted, few
// PGD steps against that model, eps 8) and `verify` of the release; each child's peak RSS is its VmHWM
// (/proc/self/status) at its exit (a --require'd preload). Prints and appends one JSON line per
// command and size to --out.
//
//   node dist/bench/stream-memory.js --sizes 2000,20000 [--side 32] [--steps 2] [--memory] [--out results/stream-memory.json]
//
// --memory reads the folders into memory instead (ADVPOISON_FOLDER_MEMORY=1), the eager path, for comparison.
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { encodePng } from "../src/data/image.js";

const CLI = join(process.cwd(), "dist/src/cli/main.js");

/** Writes DIR/{train,test}/class-K/NNNNNN.png of seeded random pixels (incompressible, so full-size files). */
export function generateTree(dir: string, train: number, test: number, side: number): number {
  const t0 = performance.now();
  let state = 0x2545f491;
  const rgb = new Uint8Array(side * side * 3);
  for (const [split, n] of [
    ["train", train],
    ["test", test],
  ] as const) {
    for (let k = 0; k < 10; k++) mkdirSync(join(dir, split, `class-${k}`), { recursive: true });
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < rgb.length; p++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        rgb[p] = state & 0xff;
      }
      writeFileSync(
        join(dir, split, `class-${i % 10}`, `${String(i).padStart(6, "0")}.png`),
        encodePng(rgb, side, side, 3),
      );
    }
  }
  return (performance.now() - t0) / 1000;
}

/**
 * A preload that writes the process's peak RSS (bytes) to $RSS_FILE when it exits: VmHWM of /proc/self/status,
 * the high-water mark of this process image alone (getrusage's maxRSS would also count the parent's pages that
 * the child shared between fork and exec).
 */
export function rssPreload(dir: string): string {
  const path = join(dir, "rss-preload.cjs");
  writeFileSync(
    path,
    `process.on("exit", () => {
  const fs = require("node:fs");
  const kb = Number(/VmHWM:\\s*(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
  fs.writeFileSync(process.env.RSS_FILE, String(kb * 1024));
});
`,
  );
  return path;
}

/** Runs `advpoison args` in a child; its peak RSS in MiB and wall seconds. */
export function measure(
  args: string[],
  work: string,
  env: Record<string, string> = {},
): { rss_mib: number; seconds: number } {
  const rssFile = join(work, "rss.txt");
  rmSync(rssFile, { force: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--require", rssPreload(work), CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, ADVPOISON_THREADS: "1", OMP_NUM_THREADS: "1", RSS_FILE: rssFile, ...env },
    maxBuffer: 64 * 2 ** 20,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`advpoison ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return { rss_mib: +(Number(readFileSync(rssFile, "utf8")) / 2 ** 20).toFixed(1), seconds: +seconds.toFixed(1) };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "2000,20000" },
      side: { type: "string", default: "32" },
      steps: { type: "string", default: "2" },
      method: { type: "string", default: "targeted" },
      test: { type: "string", default: "200" },
      commands: { type: "string", default: "train,craft,verify" },
      memory: { type: "boolean", default: false },
      out: { type: "string" },
      keep: { type: "boolean", default: false },
    },
  });
  const side = Number(values.side);
  const sizes = values.sizes.split(",").map(Number);
  const commands = values.commands.split(",");
  const env: Record<string, string> = values.memory ? { ADVPOISON_FOLDER_MEMORY: "1" } : {};
  const mode = values.memory ? "memory" : "stream";
  const command = `node dist/bench/stream-memory.js ${process.argv.slice(2).join(" ")}`.trim();
  for (const n of sizes) {
    const work = mkdtempSync(join(tmpdir(), `advpoison-stream-${n}-`));
    try {
      const tree = join(work, "tree");
      const generated = generateTree(tree, n, Number(values.test), side);
      const spec = `folder:${tree}`;
      const model = join(work, "model");
      const release = join(work, "release");
      const runs: Record<string, string[]> = {
        train: [
          "train",
          "--dataset",
          spec,
          "--model",
          "smallcnn-bn",
          "--recipe",
          "fast",
          "--epochs",
          "1",
          "--out",
          model,
        ],
        craft: [
          "craft",
          ...["--dataset", spec, "--crafter", join(model, "model.safetensors"), "--method", values.method],
          ...["--eps", "8", "--steps", values.steps, "--out", release],
        ],
        verify: ["verify", "--source", spec, "--release", release, "--eps", "8"],
      };
      for (const name of commands) {
        const m = measure(runs[name]!, work, env);
        const row = {
          case: `stream-memory.${name}`,
          mode,
          images: n,
          test_images: Number(values.test),
          side,
          ...(name === "craft" ? { method: values.method, steps: Number(values.steps), eps: 8 } : {}),
          peak_rss_mib: m.rss_mib,
          seconds: m.seconds,
          generate_seconds: +generated.toFixed(1),
          threads: 1,
          date: new Date().toISOString().slice(0, 10),
          command,
        };
        console.log(JSON.stringify(row));
        if (values.out) appendFileSync(values.out, `${JSON.stringify(row)}\n`);
      }
    } finally {
      if (!values.keep) rmSync(work, { recursive: true, force: true });
    }
  }
}

if (process.argv[1]?.endsWith("stream-memory.js")) main();
