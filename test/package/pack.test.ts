// The package as a user gets it: `npm pack`, installed from the tarball into a fresh project, imported by name. The README's library example is type-checked against the installed types and run.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

const ROOT = process.cwd();
const ADDON = join("build", "Release", "advpoison_torch.node");

/** The README's first ```ts block under "## Library". */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Library"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, "README.md has no ```ts example under ## Library");
  return m[1]!;
}

describe("the packed package", () => {
  const project = mkdtempSync(join(tmpdir(), "advpoison-user-"));
  after(() => rmSync(project, { recursive: true, force: true }));

  before(() => {
    const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", project], {
      cwd: ROOT,
      encoding: "utf8",
    });
    const tarball = join(project, packed.trim().split("\n").pop()!);
    // From npm's cache where it holds the dependencies (as after `npm ci`), else the registry. No install script,
    // which would rebuild the libtorch addon for minutes: the one built here is copied in instead, where the
    // package's install would have put it.
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user", private: true, type: "module" }));
    const r = spawnSync(
      "npm",
      ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", tarball],
      {
        cwd: project,
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const installed = join(project, "node_modules", "advpoison");
    mkdirSync(join(installed, "build", "Release"), { recursive: true });
    copyFileSync(join(ROOT, ADDON), join(installed, ADDON));
  });

  test("every entry point imports by name", () => {
    const names = ["", "/torch", "/nn", "/optim", "/data", "/models", "/train", "/poison", "/experiment", "/report"];
    const script = names.map(
      (n, i) =>
        `import * as m${i} from "advpoison${n}"; if (!Object.keys(m${i}).length) throw new Error("advpoison${n} is empty");`,
    );
    writeFileSync(join(project, "entries.mjs"), `${script.join("\n")}\nconsole.log("ok");\n`);
    const r = spawnSync(process.execPath, ["entries.mjs"], { cwd: project, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "ok");
    const deep = spawnSync(process.execPath, ["-e", 'import("advpoison/dist/src/torch/index.js")'], {
      cwd: project,
      encoding: "utf8",
    });
    assert.notEqual(deep.status, 0, "files outside the exports map must stay private");
  });

  test("the README's library example type-checks against the installed types and runs", () => {
    writeFileSync(join(project, "example.ts"), readmeExample());
    const tsconfig = {
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        outDir: "out",
        // A user's project has @types/node; this one borrows ours.
        typeRoots: [join(ROOT, "node_modules", "@types")],
        types: ["node"],
        skipLibCheck: true,
      },
      files: ["example.ts"],
    };
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify(tsconfig));
    const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "."], {
      cwd: project,
      encoding: "utf8",
    });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    const run = spawnSync(process.execPath, [join("out", "example.js")], {
      cwd: project,
      encoding: "utf8",
      env: { ...process.env, ADVPOISON_THREADS: "1" },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /fooled \d+\/8/);
  });
});
