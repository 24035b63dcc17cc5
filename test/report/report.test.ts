// The report: formatting helpers, the perturbation grid, the HTML (escaping, embedded PNGs, tables,
// charts), writeReport's files, and the page rendered by a real headless Chromium when one is installed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { PNG } from "pngjs";
import { imageBytes } from "../../src/data/dataset.js";
import { METHOD_NAMES } from "../../src/poison/index.js";
import {
  CONTENT_SECURITY_POLICY,
  compactJson,
  escapeHtml,
  formatMeanSd,
  formatPercent,
  historySeries,
  meanSd,
  perturbationGrid,
  RELEASE_COLUMNS,
  type ReportData,
  releaseRow,
  renderCurve,
  renderReport,
  runDirReport,
  scanRunDir,
  writeReport,
} from "../../src/report/index.js";
import type { EpochRecord } from "../../src/train/trainer.js";
import { writeMarker } from "../../src/util/ownership.js";
import { needs } from "../requirements.js";
import { CLASS_NAMES, EPS, SIDE, samplePoisoned, sampleReport, sampleSource } from "./sample.js";

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "advpoison-report-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface ImgTag {
  src: string;
  width: number;
  height: number;
  alt: string;
}

function imgTags(html: string): ImgTag[] {
  return [...html.matchAll(/<img\b[^>]*>/g)].map(([tag]) => {
    const attr = (name: string) => tag.match(new RegExp(`\\s${name}="([^"]*)"`))?.[1];
    return {
      src: attr("src") ?? "",
      width: Number(attr("width")),
      height: Number(attr("height")),
      alt: attr("alt") ?? "",
    };
  });
}

const decodeDataUri = (src: string) => {
  const prefix = "data:image/png;base64,";
  assert.ok(src.startsWith(prefix), `not a PNG data URI: ${src.slice(0, 40)}`);
  return PNG.sync.read(Buffer.from(src.slice(prefix.length), "base64"));
};

const ATTACK = `<script>alert("x")</script> & <img src="http://example.invalid/x.png" onerror='alert(1)'>`;

describe("formatting", () => {
  test("escapeHtml escapes the five HTML-special characters and nothing else", () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&amp;</a> ε ±`),
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt; ε ±",
    );
  });

  test("percent, mean and sample standard deviation", () => {
    assert.equal(formatPercent(0.9123), "91.2%");
    assert.equal(formatPercent(1, 0), "100%");
    assert.equal(formatPercent(Number.NaN), "–");
    assert.deepEqual(meanSd([2, 4, 4, 4, 5, 5, 7, 9]), { mean: 5, sd: Math.sqrt(32 / 7) });
    assert.deepEqual(meanSd([0.5]), { mean: 0.5, sd: 0 });
    assert.equal(formatMeanSd([0.881, 0.874, 0.889]), "88.1 ± 0.8%");
    assert.equal(formatMeanSd([0.25]), "25.0%");
    assert.equal(formatMeanSd([]), "–");
  });

  test("compactJson is valid JSON keeping arrays of primitives on one line, or elides long arrays", () => {
    const value = {
      a: [1, 2, 3],
      b: { c: 'x"y', d: [{ e: null }, [true, false]], skipped: undefined },
      empty: [],
      none: {},
      nan: Number.NaN,
    };
    const text = compactJson(value);
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value)));
    assert.match(text, /^ {2}"a": \[1, 2, 3\],$/m);
    assert.doesNotMatch(text, /skipped/);
    const long = compactJson({ xs: Array.from({ length: 100 }, (_, i) => i) }, { maxArray: 3 });
    assert.equal(long, '{\n  "xs": [0, 1, 2, … 97 more]\n}');
  });
});

describe("perturbationGrid", () => {
  const source = sampleSource();
  const release = samplePoisoned(source);

  test("takes up to perClass changed images per class, in index order, one row per class", () => {
    const grid = perturbationGrid(source, release, 4);
    assert.equal(grid.rows.length, 10);
    assert.deepEqual(grid.classNames, CLASS_NAMES);
    for (const [label, row] of grid.rows.entries()) {
      assert.equal(row.label, label);
      assert.equal(row.className, CLASS_NAMES[label]);
      assert.equal(row.examples.length, 4);
      // Images with index % 6 === 0 are left clean, so they are skipped.
      const expected = Array.from({ length: 6 }, (_, k) => label + 10 * k)
        .filter((i) => i % 6 !== 0)
        .slice(0, 4);
      assert.deepEqual(
        row.examples.map((e) => e.index),
        expected,
      );
    }
  });

  test("embeds the exact clean and poisoned pixels and an amplified, mid-grey-centred perturbation", () => {
    const grid = perturbationGrid(source, release, 2);
    assert.equal(grid.amplification, Math.floor(127 / EPS));
    for (const row of grid.rows) {
      for (const e of row.examples) {
        const clean = PNG.sync.read(Buffer.from(e.clean.png, "base64"));
        const poisoned = PNG.sync.read(Buffer.from(e.poisoned.png, "base64"));
        const delta = PNG.sync.read(Buffer.from(e.perturbation.png, "base64"));
        const a = imageBytes(source, e.index);
        const b = imageBytes(release, e.index);
        let linf = 0;
        for (let p = 0; p < SIDE * SIDE; p++) {
          assert.equal(clean.data[4 * p], a[p]);
          assert.equal(poisoned.data[4 * p], b[p]);
          const d = b[p]! - a[p]!;
          linf = Math.max(linf, Math.abs(d));
          assert.equal(delta.data[4 * p], Math.min(255, Math.max(0, 128 + d * grid.amplification)));
        }
        assert.equal(e.linf, linf);
        assert.ok(e.linf > 0 && e.linf <= EPS);
        assert.deepEqual([e.clean.width, e.clean.height, delta.width, delta.height], [SIDE, SIDE, SIDE, SIDE]);
      }
    }
  });

  test("follows given indices, shows unchanged images as flat mid-grey, and rejects mismatched data", () => {
    const grid = perturbationGrid(source, release, 3, { indices: [12, 2, 0, 22, 32, 42, 999 % 60], title: "t" });
    assert.equal(grid.title, "t");
    assert.deepEqual(
      grid.rows[2]!.examples.map((e) => e.index),
      [12, 2, 22],
    );
    assert.deepEqual(
      grid.rows[0]!.examples.map((e) => e.index),
      [0],
    );
    const flat = PNG.sync.read(Buffer.from(grid.rows[0]!.examples[0]!.perturbation.png, "base64"));
    assert.ok(flat.data.every((v, k) => (k % 4 === 3 ? v === 255 : v === 128)));
    assert.equal(grid.rows[5]!.examples.length, 0);
    assert.throws(() => perturbationGrid(source, { ...release, count: 59 }), /does not match/);
    assert.throws(() => perturbationGrid(source, release, 0), /perClass/);
    assert.throws(() => perturbationGrid(source, release, 1, { indices: [60] }), /outside the dataset/);
  });

  test("an identical release gives no examples and amplification 1", () => {
    const grid = perturbationGrid(source, source, 4);
    assert.equal(grid.amplification, 1);
    assert.ok(grid.rows.every((r) => r.examples.length === 0));
    assert.match(renderReport({ ...sampleReport(), imageGrids: [grid] }), /No poisoned images of this class/);
  });
});

describe("the HTML", () => {
  const data = sampleReport({ title: `Report ${ATTACK}`, note: `Note ${ATTACK}` });
  data.imageGrids[0]!.rows[3]!.className = `Dress ${ATTACK}`;
  data.tables[0]!.rows[1]![0] = `untargeted ${ATTACK}`;
  data.curves[0]!.series[1]!.name = `poisoned ${ATTACK}`;
  data.params[`key ${ATTACK}`] = ATTACK;
  (data.manifest as Record<string, unknown>).comment = ATTACK;
  const html = renderReport(data);

  test("escapes every string: no injected element, script, handler or external URL", () => {
    assert.equal((html.match(/<script/gi) ?? []).length, 0);
    // With attribute values blanked out (escaping keeps them closed), no event-handler attribute is left.
    const skeleton = html.replace(/"[^"]*"/g, '""');
    assert.doesNotMatch(skeleton, /<[^>]*\son[a-z]+=/i);
    assert.doesNotMatch(html, /<img src="http/);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
    assert.doesNotMatch(html, /url\(/);
    const escaped = escapeHtml(ATTACK);
    // Title (twice: <title> and <h1>), note, class name (caption and 3x4 alt texts), table cell, legend,
    // data-table header and point tooltips, parameter key and value, manifest.
    assert.ok(html.split(escaped).length - 1 >= 10, "the attack strings appear, escaped");
    assert.match(html, new RegExp(`<title>Report ${escaped.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}</title>`));
  });

  test("is one self-contained document with a restrictive Content-Security-Policy", () => {
    assert.match(html, /^<!doctype html>\n<html lang="en">/);
    assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">`));
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
    assert.doesNotMatch(html, /<link\b/);
    const style = html.match(/<style>([\s\S]*)<\/style>/)![1]!;
    assert.match(style, /image-rendering: pixelated/);
    assert.match(style, /@media \(prefers-color-scheme: dark\)/);
  });

  test("has one <img> per grid image, each a PNG data URI of the right size, upscaled, with alt text", () => {
    const imgs = imgTags(html);
    const grid = data.imageGrids[0]!;
    const expected = grid.rows.reduce((n, r) => n + 3 * r.examples.length, 0);
    assert.equal(expected, 120);
    assert.equal(imgs.length, expected);
    for (const tag of imgs) {
      const png = decodeDataUri(tag.src);
      assert.deepEqual([png.width, png.height], [SIDE, SIDE]);
      assert.deepEqual([tag.width, tag.height], [3 * SIDE, 3 * SIDE]);
      assert.match(tag.alt, /^(clean|poisoned|perturbation of) .+ training image #\d+/);
    }
    const first = grid.rows[0]!.examples[0]!;
    assert.equal(imgs[0]!.src, `data:image/png;base64,${first.clean.png}`);
    assert.equal(imgs[4]!.src, `data:image/png;base64,${first.poisoned.png}`);
    assert.equal(imgs[8]!.src, `data:image/png;base64,${first.perturbation.png}`);
    assert.match(html, /amplified ×7/);
  });

  test("shows the headline, the tables with headers, the parameters, notes and the manifest", () => {
    assert.match(
      html,
      /<div class="stat good"><div class="stat-label">clean training<\/div><div class="stat-value">88\.1%/,
    );
    assert.match(html, /<div class="arrow" aria-hidden="true">→<\/div><div class="stat bad">[\s\S]*?20\.4%/);
    assert.match(html, /<figcaption>Victim accuracy on the clean test set<\/figcaption>/);
    for (const c of ["recipe", "eps", "victim", "clean test acc (mean ± sd)"])
      assert.match(html, new RegExp(`<th scope="col"[^>]*>${c.replace(/[()]/g, "\\$&")}</th>`));
    assert.match(
      html,
      /<th scope="row">clean \(no poison\)<\/th><td class="num">0<\/td><td>smallcnn<\/td><td class="num">88\.1 ± 0\.8%<\/td>/,
    );
    assert.match(html, /<td class="num">–<\/td>/);
    assert.match(html, /<dt>victim epochs<\/dt><dd>5<\/dd>/);
    assert.match(html, /<p>Note &lt;script&gt;/);
    assert.match(html, /<details class="manifest"><summary>Raw JSON<\/summary><p class="note">Arrays longer than 40/);
    assert.match(html, /&quot;poisoned_indices&quot;: \[1, 2, 3, 4, 5, 7,[^\]]*, 47, … 10 more\]/);
    for (const id of ["results", "curves", "images", "notes", "parameters", "manifest"]) {
      assert.match(html, new RegExp(`<a href="#${id}">`));
      assert.match(html, new RegExp(`<section id="${id}" aria-labelledby="${id}-h">`));
    }
    assert.match(html, /<time datetime="2025-01-02T03:04:05.000Z">/);
  });

  test("draws each curve as an accessible SVG line chart with axes, ticks, labels and a legend", () => {
    const svgs = [...html.matchAll(/<svg viewBox="0 0 560 320"[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    assert.equal(svgs.length, 2);
    const [acc, loss] = svgs as [string, string];
    assert.match(acc, /role="img" aria-labelledby="chart-1-title-svg chart-1-desc"/);
    for (const t of ["0%", "20%", "40%", "60%", "80%", "100%", "1", "2", "3", "4", "5"]) {
      assert.match(acc, new RegExp(`>${t}</text>`));
    }
    assert.match(acc, />epoch<\/text>/);
    assert.match(acc, />test accuracy<\/text>/);
    assert.equal((acc.match(/<path d="M/g) ?? []).length, 2);
    assert.equal((acc.match(/<circle /g) ?? []).length, 10);
    assert.match(acc, /<g class="series c0">[\s\S]*<g class="series c1">/);
    assert.match(acc, /<title>clean training set: epoch 5, 88\.1%<\/title>/);
    for (const t of ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]) assert.match(loss, new RegExp(`>${t}</text>`));
    assert.match(
      html,
      /<ul class="legend"><li class="c0"><svg class="swatch"[\s\S]*?<\/svg>clean training set<\/li><li class="c1">/,
    );
    // Figures: y of the clean curve's last point sits at 88.1% of the plot height above the x axis.
    const lastY = Number(acc.match(/<circle cx="[\d.]+" cy="([\d.]+)" r="3.2"><title>clean training set: epoch 5/)![1]);
    assert.ok(Math.abs(lastY - (274 - 0.881 * 260)) < 0.01, String(lastY));
    assert.match(
      html,
      /<details class="data"><summary>Data<\/summary>[\s\S]*?<th scope="row" class="num">3<\/th><td class="num">84\.6%<\/td><td class="num">25\.6%<\/td>/,
    );
  });

  test("charts break lines at missing values, fit number axes, and say when there is nothing to draw", () => {
    const svg = renderCurve(
      {
        title: "loss",
        xLabel: "step",
        yLabel: "loss",
        series: [
          {
            name: "a",
            points: [
              [0, 2.5],
              [100, 1.2],
              [200, Number.NaN],
              [300, 0.7],
              [400, 0.4],
            ],
          },
        ],
      },
      "c",
    );
    assert.equal((svg.match(/[ML][\d.]+ [\d.]+/g) ?? []).map((s) => s[0]).join(""), "MLML");
    for (const t of ["0", "100", "200", "300", "400", "0.0", "0.5", "1.0", "2.5", "3.0"])
      assert.match(svg, new RegExp(`>${t}</text>`));
    assert.match(
      renderCurve({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "s", points: [] }] }, "e"),
      /No data points/,
    );
  });

  test("historySeries takes one value per epoch, skipping epochs without it", () => {
    const history: EpochRecord[] = [
      { epoch: 1, lr: 0.1, trainLoss: 1.5, trainAcc: 0.4, testAcc: 0.5, seconds: 3 },
      { epoch: 2, lr: 0.05, trainLoss: 0.9, trainAcc: 0.7, seconds: 3 },
      { epoch: 3, lr: 0.01, trainLoss: 0.6, trainAcc: 0.8, testAcc: 0.75, seconds: 3 },
    ];
    assert.deepEqual(historySeries("clean", history), {
      name: "clean",
      points: [
        [1, 0.5],
        [3, 0.75],
      ],
    });
    assert.deepEqual(
      historySeries("clean", history, "trainLoss").points.map((p) => p[1]),
      [1.5, 0.9, 0.6],
    );
  });

  test("a table row with the wrong number of cells is an error", () => {
    const bad = sampleReport();
    bad.tables[0]!.rows.push(["only", "three", "cells"]);
    assert.throws(
      () => renderReport(bad),
      /table "Victim accuracy on the clean test set": row 5 has 3 cells for 4 columns/,
    );
  });
});

describe("the releases table", () => {
  test("a method with no per-image aim (random, LSP) shows no steps and no success; the others show both", () => {
    const facts = (method: string) => ({
      name: method,
      method,
      eps: 8,
      steps: 40,
      poisoned: 10,
      count: 10,
      maxLinf: 8,
      meanL2: 1.25,
      attackSuccess: 0.5,
      seconds: 3,
    });
    const steps = RELEASE_COLUMNS.indexOf("steps");
    const success = RELEASE_COLUMNS.indexOf("attack success");
    for (const name of METHOD_NAMES) {
      const row = releaseRow(facts(name));
      const none = name === "random" || name === "lsp";
      assert.equal(row[steps], none ? null : 40, name);
      assert.equal(row[success], none ? null : "50.0%", name);
    }
  });
});

describe("writeReport", () => {
  test("writes report.html and report.json atomically, the JSON being the data", () => {
    const dir = join(tempDir(), "nested", "run");
    const data = sampleReport();
    const paths = writeReport(dir, data);
    assert.deepEqual(paths, { html: join(dir, "report.html"), json: join(dir, "report.json") });
    assert.deepEqual(readdirSync(dir).sort(), ["report.html", "report.json"]);
    assert.equal(readFileSync(paths.html, "utf-8"), renderReport(data));
    const json = JSON.parse(readFileSync(paths.json, "utf-8")) as ReportData;
    assert.deepEqual(json, JSON.parse(JSON.stringify(data)));
    // The page can be rebuilt from report.json alone.
    assert.equal(renderReport(json), renderReport(data));
  });

  test("writes nothing when the data is invalid", () => {
    const dir = tempDir();
    const bad = sampleReport();
    bad.tables[0]!.columns.pop();
    assert.throws(() => writeReport(dir, bad), /cells for 3 columns/);
    assert.deepEqual(readdirSync(dir), []);
  });
});

// ---- A real browser. ----

function findChromium(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of ["chromium", "chromium-browser"]) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

const CHROMIUM = findChromium();

/** Runs headless Chromium on a local file with a fresh profile and no way out to the network. */
function chromium(file: string, args: string[]): { stdout: string; stderr: string; console: string[] } {
  const profile = mkdtempSync(join(tmpdir(), "advpoison-chromium-"));
  try {
    const r = spawnSync(
      CHROMIUM!,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        `--user-data-dir=${profile}`,
        "--enable-logging=stderr",
        "--v=0",
        "--hide-scrollbars",
        ...args,
        pathToFileURL(file).href,
      ],
      { encoding: "utf-8", timeout: 180_000, maxBuffer: 256 << 20 },
    );
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.status, 0, `chromium exited with ${r.status}:\n${r.stderr}`);
    // Console messages of the page (errors, CSP violations, uncaught exceptions) are logged as "...:CONSOLE...".
    const consoleLines = r.stderr.split("\n").filter((l) => /:CONSOLE[:(\]]/.test(l) || /Uncaught/.test(l));
    return { stdout: r.stdout, stderr: r.stderr, console: consoleLines };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Reports, once the page has loaded, what it shows: image counts and sizes, errors, layout overflow. */
const PROBE = `
window.__errors = [];
addEventListener("error", (e) => __errors.push(e.message || ("failed: " + (e.target && e.target.tagName))), true);
addEventListener("securitypolicyviolation", (e) => __errors.push("csp: " + e.violatedDirective + " " + e.blockedURI));
addEventListener("load", () => {
  const imgs = [...document.images];
  const first = imgs[0];
  const out = document.createElement("output");
  out.id = "render-check";
  out.textContent = JSON.stringify({
    title: document.title,
    images: imgs.length,
    loaded: imgs.filter((i) => i.complete && i.naturalWidth > 0).length,
    natural: [...new Set(imgs.map((i) => i.naturalWidth + "x" + i.naturalHeight))],
    shown: [...new Set(imgs.map((i) => Math.round(i.getBoundingClientRect().width) + "x" + Math.round(i.getBoundingClientRect().height)))],
    rendering: first ? getComputedStyle(first).imageRendering : null,
    svgs: document.querySelectorAll("svg[role=img]").length,
    tables: document.querySelectorAll("table").length,
    scripts: document.scripts.length,
    overflow: document.documentElement.scrollWidth - innerWidth,
    errors: __errors,
  });
  document.body.append(out);
});
`;

describe("in headless Chromium", {
  skip: needs(CHROMIUM !== undefined, "chromium"),
}, () => {
  const dir = tempDir();
  let paths = { html: "", json: "" };
  const data = sampleReport({ note: `A note with markup that must stay text: ${ATTACK}` });
  const gridImages = data.imageGrids[0]!.rows.reduce((n, r) => n + 3 * r.examples.length, 0);

  before(() => {
    paths = writeReport(dir, data);
  });

  test("renders the page: every image loads, no errors, no injected elements, no horizontal overflow", () => {
    // A copy with the probe script in <head>, allowed by its hash (the real page allows no script at all).
    const page = readFileSync(paths.html, "utf-8");
    const hash = createHash("sha256").update(PROBE).digest("base64");
    const csp = `content="${CONTENT_SECURITY_POLICY}"`;
    assert.ok(page.includes(csp));
    const probed = page
      .replace(csp, `content="${CONTENT_SECURITY_POLICY}; script-src 'sha256-${hash}'"`)
      .replace("<title>", `<script>${PROBE}</script><title>`);
    const file = join(dir, "probed.html");
    writeFileSync(file, probed);
    const r = chromium(file, ["--virtual-time-budget=5000", "--window-size=1200,2000", "--dump-dom"]);
    assert.deepEqual(r.console, []);
    assert.ok(r.stdout.includes(`<h1>${escapeHtml(data.title)}</h1>`), "the title is in the DOM");
    const m = r.stdout.match(/<output id="render-check">(.*?)<\/output>/);
    assert.ok(m, `no probe output in the DOM:\n${r.stdout.slice(0, 500)}`);
    const check = JSON.parse(m[1]!.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&"));
    assert.deepEqual(check, {
      title: data.title,
      images: gridImages,
      loaded: gridImages,
      natural: [`${SIDE}x${SIDE}`],
      shown: [`${3 * SIDE}x${3 * SIDE}`],
      rendering: "pixelated",
      svgs: 2,
      tables: 1 + 2 + 10, // results, two chart data tables, ten class cards
      scripts: 1, // the probe
      overflow: 0,
      errors: [],
    });
  });

  test("takes a screenshot of the unmodified page without a console message", () => {
    const shot = join(dir, "report.png");
    const r = chromium(paths.html, ["--window-size=1200,2400", `--screenshot=${shot}`]);
    assert.deepEqual(r.console, []);
    const png = PNG.sync.read(readFileSync(shot));
    assert.deepEqual([png.width, png.height], [1200, 2400]);
    const colours = new Set<number>();
    for (let p = 0; p < png.width * png.height; p += 7) colours.add(png.data.readUInt32BE(4 * p));
    assert.ok(colours.size > 200, `only ${colours.size} colours: a blank page?`);
    if (process.env.ADVPOISON_REPORT_SCREENSHOT) copyFileSync(shot, process.env.ADVPOISON_REPORT_SCREENSHOT);
  });

  test("the console check is not vacuous: a page breaking its CSP is caught", () => {
    const file = join(dir, "bad.html");
    writeFileSync(
      file,
      `<!doctype html><meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}"><img src="http://example.invalid/x.png" alt="">`,
    );
    const r = chromium(file, ["--virtual-time-budget=2000", "--dump-dom"]);
    assert.equal(r.console.length, 1, r.stderr);
    assert.match(r.console[0]!, /violates the following Content Security Policy directive/);
  });
});

test("run directory: an unreadable or damaged manifest is reported by path and the rest still reports", () => {
  const dir = tempDir();
  const put = (path: string, text: string) => {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  put("broken/manifest.json", '{"plan": {"recipe": "targ');
  put("empty/manifest.json", "{}");
  // A queue run's record is no trained model: neither listed nor reported as unreadable.
  put("queued/run.json", JSON.stringify({ run: "queued", plan: {}, digest: "0".repeat(16) }));
  writeMarker(join(dir, "queued"), "queue run");
  put(
    "victim/run.json",
    JSON.stringify({ dataset: "fashion-mnist", model: "smallcnn-bn", test_acc: 0.9, seconds: 3, history: [] }),
  );
  const found = scanRunDir(dir);
  assert.deepEqual(
    found.runs.map((r) => r.name),
    ["victim"],
  );
  assert.equal(found.releases.length, 0);
  assert.deepEqual(
    found.unreadable.map((u) => u.path),
    [join(dir, "broken", "manifest.json"), join(dir, "empty", "manifest.json")],
  );
  assert.match(found.unreadable[0]!.reason, /broken\/manifest\.json: unreadable manifest \(/);
  assert.match(found.unreadable[1]!.reason, /empty\/manifest\.json: not an advpoison release manifest \(tool: /);
  const data = runDirReport(dir, found);
  assert.equal(data.tables[0]!.rows.length, 1);
  assert.ok(data.notes.some((n) => /Skipped: .*broken\/manifest\.json/.test(n)));
  // With nothing readable left, the error still says what was skipped.
  rmSync(join(dir, "victim"), { recursive: true });
  assert.throws(() => runDirReport(dir, scanRunDir(dir)), /nothing to report: .*; skipped .*broken\/manifest\.json/);
});
