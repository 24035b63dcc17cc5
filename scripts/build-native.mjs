// Builds the libtorch addon with node-gyp (bundled with npm), against Node's own headers.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
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

const args = [nodeGyp(), "rebuild", `--jobs=${cpus().length}`];
// Debian's nodejs ships its headers under /usr/include/node; use them instead of downloading any.
if (!process.env.npm_config_nodedir && existsSync("/usr/include/node/node_api.h")) args.push("--nodedir=/usr");
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
if (r.status !== 0) {
  console.error(
    "advpoison: building the libtorch addon failed. On Debian 12: apt-get install -y libtorch-dev libopenblas0-openmp; " +
      "or set LIBTORCH to an unpacked libtorch.",
  );
  process.exit(r.status ?? 1);
}
