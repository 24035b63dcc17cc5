// Builds the libtorch addon with node-gyp (bundled with npm), against Node's own headers.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";

function nodeGyp() {
  const gyp = join("node_modules", "node-gyp", "bin", "node-gyp.js");
  const candidates = [
    process.env.npm_execpath && join(dirname(dirname(process.env.npm_execpath)), gyp),
    join(dirname(dirname(process.execPath)), "lib", "node_modules", "npm", gyp),
    join("/usr/lib/node_modules/npm", gyp),
    join("/usr/share/nodejs/npm", gyp),
  ].filter(Boolean);
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`node-gyp not found (looked in ${candidates.join(", ")})`);
  return found;
}

const addon = "build/Release/advpoison_torch.node";
const stamp = "build/Release/libtorch.txt";
const libtorch = process.env.LIBTORCH ?? "debian";

/** Built, newer than every source, and for the same libtorch: `npm ci` and `npx` need not spend minutes again. */
function upToDate() {
  if (!existsSync(addon) || !existsSync(stamp) || readFileSync(stamp, "utf-8") !== libtorch) return false;
  const built = statSync(addon).mtimeMs;
  const sources = ["binding.gyp", ...readdirSync("native").map((f) => join("native", f))];
  return sources.every((f) => statSync(f).mtimeMs < built);
}

if (!process.argv.includes("--force") && upToDate()) {
  console.log(`advpoison: libtorch addon is up to date (${addon}); \`npm run build:native -- --force\` rebuilds it`);
  process.exit(0);
}

const args = [nodeGyp(), "rebuild", `--jobs=${cpus().length}`];
// Debian's nodejs ships its headers under /usr/include/node; use them instead of downloading any.
if (!process.env.npm_config_nodedir && existsSync("/usr/include/node/node_api.h")) args.push("--nodedir=/usr");
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
if (r.status === 0) writeFileSync(stamp, libtorch);
if (r.status !== 0) {
  console.error(
    "advpoison: building the libtorch addon failed. On Debian 12: apt-get install -y libtorch-dev libopenblas0-openmp; " +
      "or set LIBTORCH to an unpacked libtorch.",
  );
  process.exit(r.status ?? 1);
}
