// The package version, read once from package.json (two levels above dist/src/util or src/util).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, "package.json");
    if (existsSync(p)) return (JSON.parse(readFileSync(p, "utf-8")) as { version: string }).version;
    dir = dirname(dir);
  }
  return "unknown";
}

export const VERSION: string = findVersion();
