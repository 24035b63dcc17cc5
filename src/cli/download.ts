// `advpoison download`: fetches a dataset's official archives (for machines with a network), verified by checksum.
import type { Command } from "commander";
import { type DownloadableName, download, OFFICIAL_SOURCES } from "../data/index.js";
import { action, collect } from "./common.js";

export function registerDownload(program: Command): void {
  const names = Object.keys(OFFICIAL_SOURCES);
  program
    .command("download")
    .description("download a dataset's official files, verify their checksums and unpack them")
    .argument("<name>", names.join(", "))
    .option("--data-dir <dir>", "destination (default $ADVPOISON_DATA/NAME or ~/.cache/advpoison/NAME)")
    .option("--mirror <url>", "base URL to fetch from instead of the official one (repeatable)", collect, [])
    .option("--force", "replace an existing download")
    .action(
      action(async (name: string, o: { dataDir?: string; mirror: string[]; force?: boolean }) => {
        if (!names.includes(name)) throw new Error(`cannot download '${name}'; known: ${names.join(", ")}`);
        const dest = await download(name as DownloadableName, {
          ...(o.dataDir ? { dataDir: o.dataDir } : {}),
          ...(o.mirror.length ? { mirrors: o.mirror } : {}),
          force: o.force ?? false,
          log: (m) => console.error(m),
        });
        console.log(`${name} is in ${dest}; use --dataset ${name}:${dest}`);
      }),
    );
}
