// A photo of an ordinary phone camera's size (48 MP, 8000x6000) is protected within the memory README states:
// the process's peak RSS stays under BASE_BYTES + BYTES_PER_PIXEL per pixel (pixels live in typed arrays and
// tensors, never in a JS array, which cannot hold 1.4e8 values), and verify passes on what it wrote.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import sharp from "sharp";
import { availableMemory, BYTES_PER_PIXEL } from "../../src/protect/memory.js";
import { PEAK_RSS_HOOK, peakRssBytes } from "../peak-rss.js";
import { hardwareHas } from "../requirements.js";
import { CLI, cli, env, lastJson, writeCrafter } from "./cli.js";

const [WIDTH, HEIGHT] = [8000, 6000];
/** The CLI with libtorch and a crafting model loaded, and the photo's file, before any pixel is decoded. */
const BASE_BYTES = 0.5 * 2 ** 30;
const LIMIT = BASE_BYTES + WIDTH * HEIGHT * BYTES_PER_PIXEL;
/** Generating, protecting and verifying 48 MP on one busy core: about two minutes here. */
const TIMEOUT = 10 * 60_000;

describe("a 48 MP photo", () => {
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-large-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test(`is protected under ${(LIMIT / 2 ** 30).toFixed(1)} GiB of peak RSS`, {
    timeout: TIMEOUT,
    skip: hardwareHas(availableMemory() > LIMIT, `${(LIMIT / 2 ** 30).toFixed(1)} GiB of free memory`),
  }, async () => {
    const src = join(tmp, "photos");
    mkdirSync(src);
    // Noise, made by libvips: no JS array of the pixels here either.
    const noise = { type: "gaussian" as const, mean: 128, sigma: 40 };
    await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, noise, background: "#000" } })
      .png({ compressionLevel: 1 })
      .toFile(join(src, "big.png"));
    const crafter = join(tmp, "crafter.safetensors");
    writeCrafter(crafter);
    const out = join(tmp, "out");
    const peakFile = join(tmp, "peak-rss");
    const args = ["protect", src, "--out", out, "--crafter", crafter, "--input-size", "32", "--steps", "2"];
    const r = spawnSync(process.execPath, ["--import", PEAK_RSS_HOOK, CLI, ...args, "--views", "2", "--json"], {
      encoding: "utf8",
      env: { ...env, PEAK_RSS_FILE: peakFile },
    });
    assert.equal(r.status, 0, r.stderr);
    const res = lastJson(r.stdout);
    assert.deepEqual([res.count, res.skipped], [1, 0]);
    const peak = peakRssBytes(peakFile);
    assert.ok(peak < LIMIT, `peak RSS ${(peak / 2 ** 30).toFixed(2)} GiB, limit ${(LIMIT / 2 ** 30).toFixed(2)} GiB`);
    console.error(`48 MP: peak RSS ${(peak / 2 ** 30).toFixed(2)} GiB`);
    const v = cli(["verify", "--protected", out, "--source", src, "--eps", "8"]);
    assert.equal(v.status, 0, v.stderr);
  });
});
