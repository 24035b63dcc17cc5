// `advpoison protect` on generated photo trees: every photo comes back at its path, size and format, within eps
// after decoding the written file; a corrupt photo is reported and skipped, never dropped silently; the
// manifest accounts for every file; verify passes and catches a changed photo; a killed run resumes to the same
// bytes; EXIF orientation is applied; an unlabeled folder is labelled by the crafter's predictions; PIL, an
// independent decoder, also finds every written photo within eps of its source. (That the perturbation moves
// the crafting model as intended is efficacy.test.ts.)
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { createModel } from "../../src/models/index.js";
import { decodePhoto, linf } from "../../src/protect/index.js";
import { CONTENT_SECURITY_POLICY, readReportJson, renderReport } from "../../src/report/index.js";
import { encodeSafetensors, manualSeed } from "../../src/torch/index.js";
import { writeMarker } from "../../src/util/ownership.js";
import { pil } from "../pil.js";
import { needs, pythonLacks } from "../requirements.js";
import { CLI, cli, env, lastJson, writeCrafter } from "./cli.js";
import { CORRUPT, LABELLED, makeTree, writeCorrupt } from "./trees.js";

/** Each test's limit: a few protect runs of a minute or less on 2 busy cores, with room for a slow machine. */
const TIMEOUT = 10 * 60_000;
/** How long the kill-and-resume test waits for the first run to journal three photos. */
const JOURNAL_DEADLINE = 5 * 60_000;

const pilMissing = pythonLacks("PIL");

/** A photo decoded by PIL with its EXIF orientation applied (as a viewer shows it): width, height, RGB bytes. */
function pilDecode(bytes: Uint8Array) {
  const out = pil(
    "from PIL import ImageOps\n" +
      "im = ImageOps.exif_transpose(Image.open(io.BytesIO(sys.stdin.buffer.read()))).convert('RGB')\n" +
      "sys.stdout.buffer.write(im.width.to_bytes(4, 'little') + im.height.to_bytes(4, 'little') + im.tobytes())",
    bytes,
  );
  const head = new DataView(out.buffer, out.byteOffset, 8);
  return { width: head.getUint32(0, true), height: head.getUint32(4, true), rgb: out.subarray(8) };
}

describe("advpoison protect", () => {
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-protect-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const src = join(tmp, "photos");
  const crafter = join(tmp, "crafter.safetensors");
  // writeCrafter's model has the tree's two classes.
  const base = ["--crafter", crafter, "--input-size", "32", "--steps", "6", "--views", "2", "--eps", "8"];

  before(
    async () => {
      await makeTree(src, LABELLED);
      writeCorrupt(src);
      writeFileSync(join(src, "cat", "notes.txt"), "not a photo");
      writeCrafter(crafter);
    },
    { timeout: TIMEOUT },
  );

  test("same paths, sizes and formats; within eps after decoding; corrupt photo skipped and reported", {
    timeout: TIMEOUT,
  }, async () => {
    const out = join(tmp, "out");
    const r = cli(["protect", src, "--out", out, ...base, "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const res = lastJson(r.stdout);
    assert.equal(res.count, LABELLED.length);
    assert.equal(res.skipped, 1);
    assert.deepEqual(res.skipped_files, [CORRUPT]);
    assert.match(r.stderr, /skipped: dog\/broken\.jpg: cannot decode the photo/);
    assert.equal(res.same_sizes, true);
    assert.ok(res.max_linf <= 8 && res.max_linf > 0, `max_linf ${res.max_linf}`);
    for (const s of LABELLED) {
      const [a, b] = [readFileSync(join(src, s.rel)), readFileSync(join(out, s.rel))];
      const [da, db] = [await decodePhoto(a, s.rel), await decodePhoto(b, s.rel)];
      assert.deepEqual([db.width, db.height], [da.width, da.height], s.rel);
      assert.equal(db.format, da.format, `${s.rel} keeps its format`);
      const d = linf(da.rgb, db.rgb);
      assert.ok(d <= 8 && d > 0, `${s.rel}: L-inf ${d}`);
    }
    // EXIF orientation 6 (stored 120x80, shown 80x120): the copy is written upright at the shown size.
    const meta = await sharp(join(out, "dog/e.jpg")).metadata();
    assert.deepEqual([meta.width, meta.height, meta.orientation ?? 1], [80, 120, 1]);
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    assert.equal(m.kind, "protected-photos");
    assert.equal(m.settings.labels, "folders");
    assert.deepEqual(m.class_names, ["cat", "dog"]);
    assert.deepEqual(m.photos.map((p: { path: string }) => p.path).sort(), LABELLED.map((s) => s.rel).sort());
    assert.deepEqual(
      m.skipped.map((s: { path: string }) => s.path),
      [CORRUPT],
    );
    assert.deepEqual(m.ignored, ["cat/notes.txt"]);
    for (const p of m.photos) {
      assert.equal(p.label, p.path.startsWith("cat/") ? 0 : 1);
      assert.equal(p.target, 1 - p.label);
      assert.ok(p.ssim > 0.5 && p.ssim <= 1 && p.psnr > 30, JSON.stringify(p));
      if (p.format === "jpeg") assert.ok(p.jpeg_quality >= 95 && p.kept > 0.3, JSON.stringify(p));
      else assert.equal(p.kept, 1);
    }
    assert.ok(!existsSync(join(out, "cat", "notes.txt")), "non-photos are not copied");
    assert.ok(!existsSync(join(out, ".advpoison-protect.jsonl")), "the journal goes once the manifest is written");
    // The report is the report layer's page (its Content-Security-Policy, report.json beside it), with the
    // photos before and after; `advpoison report` draws it again from report.json.
    const page = readFileSync(join(out, "report.html"), "utf8");
    assert.ok(page.includes(`content="${CONTENT_SECURITY_POLICY}"`), "the protect report has no CSP");
    assert.equal(page.match(/<figure class="photo-pair">/g)?.length, LABELLED.length);
    const data = readReportJson(join(out, "report.json"));
    assert.equal(data.generator, "protect");
    assert.deepEqual(data.tables[0]!.rows.map((r) => r[0]).sort(), LABELLED.map((s) => s.rel).sort());
    const again = cli(["report", out]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(readFileSync(join(out, "report.html"), "utf8"), renderReport(data));

    const v = cli(["verify", "--protected", out, "--source", src, "--eps", "8", "--json"]);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(lastJson(v.stdout).photos, LABELLED.length);
    // A changed photo (re-encoded a little brighter) is caught: by checksum and by its budget.
    const png = join(out, "dog/f.png");
    const original = readFileSync(png);
    writeFileSync(png, await sharp(original).modulate({ brightness: 1.1 }).png().toBuffer());
    const bad = cli(["verify", "--protected", out, "--source", src, "--eps", "8"]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /dog\/f\.png: the protected photo was changed/);
    assert.match(bad.stderr, /dog\/f\.png: L-inf \d+ after decoding, above the budget 8/);
    writeFileSync(png, original);
    rmSync(join(out, "cat/a.png"));
    const missing = cli(["verify", "--protected", out, "--source", src, "--eps", "8"]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cat\/a\.png: missing from the protected tree/);
  });

  test("decoded by PIL too, every written photo is within eps of its PIL-decoded source, at its size", {
    timeout: TIMEOUT,
    skip: needs(pilMissing === undefined, `python3-pil (${pilMissing})`),
  }, () => {
    const out = join(tmp, "pil");
    const r = cli(["protect", src, "--out", out, ...base]);
    assert.equal(r.status, 0, r.stderr);
    for (const s of LABELLED) {
      const [a, b] = [pilDecode(readFileSync(join(src, s.rel))), pilDecode(readFileSync(join(out, s.rel)))];
      assert.deepEqual([b.width, b.height], [a.width, a.height], `${s.rel}: size as PIL sees it`);
      const d = linf(a.rgb, b.rgb);
      assert.ok(d <= 8 && d > 0, `${s.rel}: L-inf ${d} after decoding both with PIL`);
    }
  });

  test("a killed run resumes without redoing finished photos, to the same bytes", { timeout: TIMEOUT }, async () => {
    const whole = join(tmp, "whole");
    assert.equal(cli(["protect", src, "--out", whole, ...base]).status, 0);
    const out = join(tmp, "killed");
    const child = spawn(process.execPath, [CLI, "protect", src, "--out", out, ...base], { env, stdio: "ignore" });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    const journal = join(out, ".advpoison-protect.jsonl");
    // Kill it once three photos are journalled; give up (and fail) if that takes too long or the run ends first.
    const deadline = Date.now() + JOURNAL_DEADLINE;
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        const stop = (e?: Error) => {
          clearInterval(t);
          child.kill("SIGKILL");
          if (e) reject(e);
          else resolve();
        };
        if (existsSync(journal) && readFileSync(journal, "utf8").split('{"photo":').length > 3) stop();
        else if (child.exitCode !== null)
          stop(new Error(`the run ended (${child.exitCode}) before it could be killed`));
        else if (Date.now() > deadline) stop(new Error(`no three photos journalled in ${JOURNAL_DEADLINE / 1000} s`));
      }, 50);
    });
    await exited;
    assert.ok(!existsSync(join(out, "manifest.json")), "killed before the end");
    const r = cli(["protect", src, "--out", out, ...base, "--json"]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(lastJson(r.stdout).resumed >= 3, r.stdout);
    for (const s of LABELLED) assert.ok(readFileSync(join(out, s.rel)).equals(readFileSync(join(whole, s.rel))), s.rel);
  });

  test("a flat, unlabeled folder is labelled by the crafter's prediction; untargeted moves away from it", {
    timeout: TIMEOUT,
  }, async () => {
    const flatSrc = join(tmp, "flat-photos");
    await makeTree(flatSrc, [
      { rel: "one.jpg", width: 211, height: 157 },
      { rel: "two.png", width: 90, height: 140 },
      { rel: "three.webp", width: 128, height: 128 },
    ]);
    const flat = join(tmp, "flat");
    const r = cli(["protect", flatSrc, "--out", flat, ...base, "--method", "untargeted", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const man = JSON.parse(readFileSync(join(flat, "manifest.json"), "utf8"));
    assert.equal(man.settings.labels, "predicted");
    assert.deepEqual(man.class_names, []);
    assert.equal(man.photos.length, 3);
    for (const p of man.photos) {
      assert.equal(p.label, p.clean_pred);
      assert.equal(p.fooled, p.pred !== p.label);
    }
  });

  test("a torchvision-layout ImageNet crafter without metadata (1000 classes): labels from its predictions", {
    timeout: TIMEOUT,
  }, () => {
    const file = join(tmp, "tv.safetensors");
    manualSeed(1);
    const m = createModel("resnet18-imagenet", { inChannels: 3, numClasses: 1000, imageSize: 224 });
    writeFileSync(file, encodeSafetensors(m.stateDict(), {})); // as torchvision's weights come: names only
    m.dispose();
    const out = join(tmp, "tv-out");
    const args = ["protect", join(src, "cat"), "--out", out, "--crafter", file, "--crafter-model", "resnet18-imagenet"];
    const r = cli([...args, "--input-size", "64", "--steps", "2", "--views", "2", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const man = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    assert.equal(man.settings.num_classes, 1000);
    assert.equal(man.settings.labels, "predicted", "an unlabeled folder: the crafter's predictions");
    assert.equal(man.settings.crafters[0].model, "resnet18-imagenet");
    for (const p of man.photos) assert.equal(p.target, (p.clean_pred + 1) % 1000);
  });

  test("bad input: one clear error line, nothing written", { timeout: TIMEOUT }, () => {
    const out = join(tmp, "never");
    const cases: [string[], RegExp][] = [
      [["protect", join(tmp, "nope"), "--out", out, ...base], /nope: no such directory/],
      [["protect", src, "--out", join(src, "inside"), ...base], /is inside the source/],
      [["protect", src, "--out", out, ...base, "--eps", "300"], /eps must be in/],
      [["protect", src, "--out", out, "--eps", "8"], /needs a crafting model/],
      [["protect", join(src, "dog"), "--out", out, ...base, "--labels", "folders"], /not all in class folders/],
    ];
    for (const [args, re] of cases) {
      const r = cli(args);
      assert.equal(r.status, 1, args.join(" "));
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    assert.ok(!existsSync(out));
    // Another run's unfinished output is replaced only with --force, and only where advpoison marked it as its own:
    // a journal's file name alone does not make a folder advpoison's.
    const other = join(tmp, "other-run");
    mkdirSync(other);
    writeFileSync(join(other, ".advpoison-protect.jsonl"), '{"settings_sha256":"another"}\n');
    const refused = cli(["protect", src, "--out", other, ...base]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /holds another protection run/);
    const unmarked = cli(["protect", src, "--out", other, ...base, "--force"]);
    assert.equal(unmarked.status, 1);
    assert.match(unmarked.stderr, /other-run: not advpoison's protected photo tree/);
    writeMarker(other, "protected photo tree");
    assert.equal(cli(["protect", src, "--out", other, ...base, "--force"]).status, 0);
    const again = cli(["protect", src, "--out", other, ...base, "--seed", "1"]);
    assert.match(again.stderr, /already holds a finished protection; use --force/);
    // A folder that holds someone else's files is never replaced, nor one that holds the source.
    const users = join(tmp, "users");
    mkdirSync(users);
    writeFileSync(join(users, "thesis.tex"), "years of work");
    assert.match(cli(["protect", src, "--out", users, ...base]).stderr, /exists and is not empty/);
    const r = cli(["protect", src, "--out", users, ...base, "--force"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /users: not advpoison's protected photo tree/);
    assert.equal(readFileSync(join(users, "thesis.tex"), "utf8"), "years of work");
    const holding = cli(["protect", src, "--out", tmp, ...base, "--force"]);
    assert.equal(holding.status, 1);
    assert.match(holding.stderr, /holds the source/);
    assert.ok(existsSync(join(src, "cat/a.png")));
  });
});
