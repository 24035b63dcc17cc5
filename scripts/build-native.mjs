// Builds the libtorch addon with node-gyp against Node's own headers and the libtorch that
// scripts/libtorch-paths.mjs finds (Debian's libtorch-dev, or $LIBTORCH).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { LibtorchError, libtorchInfo } from "./libtorch-paths.mjs";

/**
 * node-gyp from this package's dependencies (node_modules, as `npm ci` here and a user's install of the package
 * both have it), else the copy bundled with npm (upstream npm bundles one; Debian's npm does not).
 */
function nodeGyp() {
  try {
    return createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js");
  } catch {
    // not installed as a dependency (e.g. `npm install --omit=dev --ignore-scripts` followed by a manual build)
  }
  const gyp = join("node_modules", "node-gyp", "bin", "node-gyp.js");
  const candidates = [
    process.env.npm_execpath && join(dirname(dirname(process.env.npm_execpath)), gyp),
    join(dirname(dirname(process.execPath)), "lib", "node_modules", "npm", gyp),
  ].filter(Boolean);
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    fail(`node-gyp not found (not in node_modules, nor bundled with npm in ${candidates.join(", ")}): run npm ci`);
  }
  return found;
}

function fail(message) {
  console.error(`advpoison: ${message}`);
  process.exit(1);
}

const addon = "build/Release/advpoison_torch.node";
const stampFile = "build/Release/libtorch.txt";
let libtorch;
try {
  libtorch = libtorchInfo();
} catch (e) {
  if (!(e instanceof LibtorchError)) throw e;
  fail(e.message);
}

/** Built, newer than every source, and for the same libtorch: `npm ci` and `npx` need not spend minutes again. */
function upToDate() {
  if (!existsSync(addon) || !existsSync(stampFile) || readFileSync(stampFile, "utf-8").trim() !== libtorch.stamp) {
    return false;
  }
  const built = statSync(addon).mtimeMs;
  const sources = [
    "binding.gyp",
    "scripts/libtorch-paths.mjs",
    ...readdirSync("native").map((f) => join("native", f)),
  ].filter((f) => existsSync(f));
  return sources.every((f) => statSync(f).mtimeMs < built);
}

if (!process.argv.includes("--force") && upToDate()) {
  console.log(
    `advpoison: libtorch addon is up to date (${addon}; ${libtorch.stamp}); \`npm run build:native -- --force\` rebuilds it`,
  );
  process.exit(0);
}

console.log(`advpoison: building the libtorch addon against ${libtorch.stamp} (C++ ABI from ${libtorch.abiFrom})`);
const args = [nodeGyp(), "rebuild", `--jobs=${cpus().length}`];
// Debian's nodejs ships its headers under /usr/include/node (libnode-dev); use them instead of downloading any.
if (!process.env.npm_config_nodedir && existsSync("/usr/include/node/node_api.h")) args.push("--nodedir=/usr");
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
if (r.status !== 0) {
  console.error(
    "advpoison: building the libtorch addon failed. On Debian: bash scripts/setup.sh (libtorch-dev, g++, make, python3); " +
      "or set LIBTORCH to an unpacked libtorch or a PyTorch 2.x torch directory.",
  );
  process.exit(r.status ?? 1);
}
writeFileSync(stampFile, `${libtorch.stamp}\n`);
