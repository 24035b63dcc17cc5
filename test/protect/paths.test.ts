// protect and verify where the trees are not as protect left them: symbolic links in the source are skipped with
// their reason and never followed; a run that protects nothing fails and leaves its journal, whose rerun refuses a
// link planted in the output, ends on a write it cannot make safely, redoes a photo whose source changed and skips
// a photo two runs ended on; verify reports every file that does not belong in a protected tree.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ProtectManifest } from "../../src/protect/manifest.js";
import { verifyProtected } from "../../src/protect/verify.js";
import { cli, lastJson, writeCrafter } from "./cli.js";
import { makeTree } from "./trees.js";

/** A few protect runs of small photos on 2 busy cores, with room for a slow machine. */
const TIMEOUT = 5 * 60_000;
const TWO = [
  { rel: "cat/a.png", width: 40, height: 30 },
  { rel: "dog/b.jpg", width: 30, height: 40 },
];
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const stderrLines = (stderr: string) => stderr.split("\n").filter((l) => l.trim() !== "");

describe("protect and verify around links, reruns and tampering", () => {
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-protect-paths-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const crafter = join(tmp, "crafter.safetensors");
  const quick = ["--crafter", crafter, "--input-size", "32", "--steps", "2", "--views", "2", "--eps", "8"];

  before(() => writeCrafter(crafter), { timeout: TIMEOUT });

  test("symbolic links under the source are skipped with their reason, never followed", {
    timeout: TIMEOUT,
  }, async () => {
    const src = join(tmp, "linked");
    await makeTree(src, TWO);
    await makeTree(join(tmp, "outside"), [{ rel: "x.png", width: 30, height: 30 }]);
    symlinkSync(join(tmp, "outside", "x.png"), join(src, "cat", "away.png"));
    symlinkSync(join(src, "cat", "a.png"), join(src, "dog", "again.png"));
    symlinkSync(join(tmp, "outside"), join(src, "dog", "more"));
    const out = join(tmp, "linked-out");
    const r = cli(["protect", src, "--out", out, ...quick, "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const links = ["cat/away.png", "dog/again.png", "dog/more"];
    assert.deepEqual(lastJson(r.stdout).skipped_files, links);
    for (const l of links) assert.match(r.stderr, new RegExp(`skipped: ${l}: a symbolic link, not followed`));
    assert.deepEqual(readdirSync(join(out, "dog")).sort(), ["b.jpg"]);
    const v = cli(["verify", "--protected", out, "--source", src, "--eps", "8"]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /ok: 2 photos \(3 skipped at protection\)/);
    // A link that appears after protection is in neither list: verify says so.
    symlinkSync(join(src, "cat", "a.png"), join(src, "cat", "new.png"));
    const late = cli(["verify", "--protected", out, "--source", src, "--eps", "8"]);
    assert.equal(late.status, 1);
    assert.match(late.stderr, /cat\/new\.png: in the source but not protected nor skipped/);
  });

  test("reruns: nothing protected fails; a planted link is refused; a blocked write ends the run; changes are redone", {
    timeout: TIMEOUT,
  }, async () => {
    const src = join(tmp, "rerun");
    const out = join(tmp, "rerun-out");
    const run = (...extra: string[]) => cli(["protect", src, "--out", out, ...quick, ...extra]);
    for (const s of TWO) {
      mkdirSync(join(src, s.rel, ".."), { recursive: true });
      writeFileSync(join(src, s.rel), "not a photo at all");
    }
    // Every photo skipped: the run fails (one last line), writes no manifest and keeps its journal.
    const none = run();
    assert.equal(none.status, 1);
    assert.match(
      stderrLines(none.stderr).at(-1)!,
      /advpoison: error: nothing was protected: all 2 photos under .*rerun were skipped/,
    );
    assert.ok(!existsSync(join(out, "manifest.json")));
    assert.ok(existsSync(join(out, ".advpoison-protect.jsonl")));

    // The photos are fixed, but a link was planted in the unfinished output: refused before anything is written.
    await makeTree(src, TWO);
    const elsewhere = join(tmp, "elsewhere");
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(out, "cat"));
    const planted = run();
    assert.equal(planted.status, 1);
    assert.deepEqual(stderrLines(planted.stderr).length, 1, planted.stderr);
    assert.match(planted.stderr, /rerun-out\/cat: a symbolic link in the output, which advpoison never writes/);
    assert.deepEqual(readdirSync(elsewhere), []);
    rmSync(join(out, "cat"));

    // A file where a directory must go: the photo before it is written, the run ends there (twice).
    writeFileSync(join(out, "dog"), "in the way");
    for (let i = 0; i < 2; i++) {
      const blocked = run();
      assert.equal(blocked.status, 1);
      assert.match(
        stderrLines(blocked.stderr).at(-1)!,
        /rerun-out\/dog is a file, not a directory: nothing is written/,
      );
    }
    assert.ok(existsSync(join(out, "cat", "a.png")));
    rmSync(join(out, "dog"));

    // cat/a.png changed since it was protected: done again. dog/b.jpg: two runs ended on it, so it is skipped.
    await makeTree(src, [{ rel: "cat/a.png", width: 50, height: 20 }]);
    const last = run("--json");
    assert.equal(last.status, 0, last.stderr);
    const res = lastJson(last.stdout);
    assert.deepEqual([res.count, res.resumed, res.skipped_files], [1, 0, ["dog/b.jpg"]]);
    assert.match(last.stderr, /skipped: dog\/b\.jpg: 2 runs ended while protecting it/);
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    assert.equal(m.photos[0].source_sha256, sha256(join(src, "cat", "a.png")));
    assert.equal(m.photos[0].width, 50);
    const v = cli(["verify", "--protected", out, "--source", src, "--eps", "8"]);
    assert.equal(v.status, 0, v.stderr);
  });

  test("verify reports every file that does not belong in a protected tree", { timeout: TIMEOUT }, async () => {
    const src = join(tmp, "tamper");
    await makeTree(src, TWO);
    const out = join(tmp, "tamper-out");
    assert.equal(cli(["protect", src, "--out", out, ...quick]).status, 0);
    assert.equal((await verifyProtected(out, src, 8)).ok, true, "untouched, with its marker file: ok");
    let k = 0;
    /** verify's problems on a copy of the protected tree after `tamper(copy, manifest)`. */
    const problemsAfter = async (tamper: (dir: string, m: ProtectManifest) => void) => {
      const dir = join(tmp, `tampered-${k++}`);
      cpSync(out, dir, { recursive: true });
      const m: ProtectManifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      tamper(dir, m);
      writeFileSync(join(dir, "manifest.json"), JSON.stringify(m));
      return (await verifyProtected(dir, src, 8)).problems.join("\n");
    };
    assert.match(
      await problemsAfter((dir) => writeFileSync(join(dir, ".DS_Store"), "")),
      /^\.DS_Store: in the protected tree but not in the manifest$/,
    );
    assert.match(
      await problemsAfter((dir) => writeFileSync(join(dir, "cat", "notes.txt"), "")),
      /^cat\/notes\.txt: in the protected tree but not in the manifest$/,
    );
    assert.match(
      await problemsAfter((dir) => symlinkSync(join(src, "cat", "a.png"), join(dir, "cat", "z.png"))),
      /^cat\/z\.png: a symbolic link in the protected tree$/,
    );
    // Moved to the skipped list, the unprotected file left in place (here: the original copied over it).
    assert.match(
      await problemsAfter((dir, m) => {
        const photo = m.photos.splice(1, 1)[0]!;
        m.skipped.push({ path: photo.path, error: "skipped, it says" });
        copyFileSync(join(src, photo.path), join(dir, photo.path));
      }),
      /^dog\/b\.jpg: listed as skipped, but in the protected tree$/,
    );
    // The original copied over its protected photo, the manifest rehashed to match.
    assert.match(
      await problemsAfter((dir, m) => {
        copyFileSync(join(src, "cat", "a.png"), join(dir, "cat", "a.png"));
        Object.assign(m.photos[0]!, { sha256: sha256(join(src, "cat", "a.png")), linf: 0 });
      }),
      /^cat\/a\.png: decodes to its source's very pixels: not protected$/,
    );
    // A skip must say why.
    await assert.rejects(
      problemsAfter((dir, m) => {
        const photo = m.photos.splice(1, 1)[0]!;
        m.skipped.push({ path: photo.path, error: "" });
        rmSync(join(dir, photo.path));
      }),
      /malformed manifest \(skipped\.0\.error: /,
    );
  });
});
