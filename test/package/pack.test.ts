// The package as a user gets it: `npm pack`, then `npm install` of the tarball into a fresh project with npm's
// normal flow, the package's install script included, which compiles the libtorch addon from the packed
// native/ sources (measured on this 2-core machine with other jobs running: 3 min 40 s to 4 min 30 s in three
// runs; the test allows 30). The tarball must hold what that build and the package's entry points need; the
// installed `advpoison` command runs; every entry point imports by name; the README's library example is
// type-checked against the installed types and run.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

const ROOT = process.cwd();
const ADDON = join("build", "Release", "advpoison_torch.node");
/** npm install with the addon's compilation: minutes on 2 cores. */
const INSTALL_TIMEOUT = 30 * 60_000;
const TIMEOUT = 5 * 60_000;

/** The README's first ```ts block under "## Library". */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Library"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, "README.md has no ```ts example under ## Library");
  return m[1]!;
}

interface PackageJson {
  version: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  scripts: Record<string, string>;
}

/**
 * The files a working install needs, read off the repository: every native/ source and header, binding.gyp and
 * the scripts it and the install script run, and every file package.json points to (bin, main, types, exports).
 */
function neededFiles(pkg: PackageJson): string[] {
  const gyp = readFileSync(join(ROOT, "binding.gyp"), "utf8");
  const scripts = [gyp, pkg.scripts.install ?? ""].flatMap((text) => text.match(/scripts\/[\w.-]+\.m?js/g) ?? []);
  const targets = Object.values(pkg.exports).flatMap((e) => (typeof e === "string" ? [e] : Object.values(e)));
  return [
    ...new Set([
      "package.json",
      "binding.gyp",
      ...readdirSync(join(ROOT, "native")).map((f) => `native/${f}`),
      ...(gyp.match(/native\/[\w.-]+/g) ?? []),
      ...scripts,
      ...Object.values(pkg.bin),
      pkg.main,
      pkg.types,
      ...targets.map((t) => t.replace(/^\.\//, "")),
    ]),
  ].sort();
}

describe("the packed package", () => {
  const project = mkdtempSync(join(tmpdir(), "advpoison-user-"));
  after(() => rmSync(project, { recursive: true, force: true }));
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as PackageJson;
  let packed: string[] = [];
  const installed = join(project, "node_modules", "advpoison");
  const bin = join(project, "node_modules", ".bin", "advpoison");

  let tarball = "";
  /** Whether the install succeeded: the tests of the installed package say so first when it did not. */
  let installedOk = false;
  const needsInstall = () => assert.ok(installedOk, "the tarball did not install (see the install test)");

  before(
    () => {
      const pack = spawnSync("npm", ["pack", "--json", "--pack-destination", project], { cwd: ROOT, encoding: "utf8" });
      assert.equal(pack.status, 0, pack.stderr);
      const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
      packed = info!.files.map((f) => f.path);
      tarball = join(project, info!.filename);
    },
    { timeout: TIMEOUT },
  );

  test("the tarball holds the addon's sources, its build scripts and every entry point, and no build output", {
    timeout: TIMEOUT,
  }, () => {
    const needed = neededFiles(pkg);
    for (const f of ["native/addon.cc", "native/tensor.h", "scripts/build-native.mjs", "scripts/libtorch-paths.mjs"])
      assert.ok(needed.includes(f), `${f}: the list of needed files misses it`);
    assert.ok(needed.includes("dist/src/cli/main.js"));
    const missing = needed.filter((f) => !packed.includes(f));
    assert.deepEqual(missing, [], `missing from the tarball: ${missing.join(", ")}`);
    const stray = packed.filter((f) => /^(build|test|dist\/test|node_modules)\//.test(f));
    assert.deepEqual(stray, [], "build output and tests stay out of the package");
  });

  test("npm installs the tarball, running its install script, which builds the addon", {
    timeout: INSTALL_TIMEOUT,
  }, () => {
    // npm's normal install, install script and all: dependencies from npm's cache where it holds them (as after
    // `npm ci`), else the registry; the addon compiled from the packed sources.
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user", private: true, type: "module" }));
    const r = spawnSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], {
      cwd: project,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, `npm install of the tarball failed:\n${r.stdout}\n${r.stderr}`);
    assert.ok(existsSync(join(installed, ADDON)), `${ADDON} was not built by the install`);
    installedOk = true;
  });

  test("the installed advpoison command runs: --help, --version (libtorch loaded), models", {
    timeout: TIMEOUT,
  }, () => {
    needsInstall();
    const run = (args: string[]) =>
      spawnSync(bin, args, { cwd: project, encoding: "utf8", env: { ...process.env, ADVPOISON_THREADS: "1" } });
    const help = run(["--help"]);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: advpoison /);
    for (const command of ["train", "craft", "verify", "protect", "experiment"])
      assert.match(help.stdout, new RegExp(`\\n  ${command} `), `--help does not list ${command}`);
    const version = run(["--version"]);
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout.trim(), new RegExp(`^${pkg.version.replaceAll(".", "\\.")} \\(libtorch \\d+\\.\\d+`));
    const models = run(["models"]);
    assert.equal(models.status, 0, models.stderr);
    assert.ok(models.stdout.split("\n").includes("resnet18"), models.stdout);
  });

  test("every entry point imports by name", { timeout: TIMEOUT }, () => {
    needsInstall();
    // Every code entry point of the exports map ("." and "./layer"), so a new layer is checked when it is added.
    const names = Object.keys(pkg.exports)
      .filter((k) => k !== "./package.json")
      .map((k) => k.slice(1));
    for (const layer of ["/protect", "/queue"]) assert.ok(names.includes(layer), `advpoison${layer} is not exported`);
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

  test("the README's library example type-checks against the installed types and runs", { timeout: TIMEOUT }, () => {
    needsInstall();
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
