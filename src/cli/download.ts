// `advpoison download`: fetches a dataset's official archives, verified by checksum, or the pretrained ImageNet
// weights of an architecture, verified by sha256 and by loading them as that architecture (machines with a network).
import type { Command } from "commander";
import { type DownloadableName, download, OFFICIAL_SOURCES } from "../data/index.js";
import { downloadWeights, isWeightsName, WEIGHT_ARCHITECTURES } from "../models/index.js";
import { action, collect, printJson } from "./common.js";

interface DownloadCliOptions {
  dataDir?: string;
  out?: string;
  mirror: string[];
  url?: string;
  sha256?: string;
  force?: boolean;
  json?: boolean;
}

export function registerDownload(program: Command): void {
  const datasets = Object.keys(OFFICIAL_SOURCES);
  program
    .command("download")
    .description(
      "download a dataset's official files (checksums verified, unpacked) or an architecture's pretrained ImageNet " +
        "weights (sha256 verified, loaded as the architecture)",
    )
    .argument("<name>", `a dataset (${datasets.join(", ")}) or weights (${WEIGHT_ARCHITECTURES.join(", ")})`)
    .option("--data-dir <dir>", "destination (default $ADVPOISON_DATA/NAME or ~/.cache/advpoison/NAME)")
    .option("--out <dir>", "the same as --data-dir; weights default to $ADVPOISON_DATA/weights/NAME")
    .option(
      "--mirror <url>",
      "base URL to fetch from instead of the official one (repeatable); for weights it replaces https://huggingface.co/",
      collect,
      [],
    )
    .option("--url <url>", "weights: fetch this safetensors file of torchvision's state dict instead")
    .option("--sha256 <hex>", "weights: the file's expected sha256 (required when the server sends none)")
    .option("--force", "replace an existing download")
    .option("--json", "print one JSON result as the last line")
    .action(
      action(async (name: string, o: DownloadCliOptions) => {
        if (o.dataDir && o.out) throw new Error("give --out or --data-dir, not both");
        const dest = o.out ?? o.dataDir;
        if (isWeightsName(name)) {
          const got = await downloadWeights(name, {
            out: dest,
            mirrors: o.mirror.length ? o.mirror : undefined,
            url: o.url,
            sha256: o.sha256,
            force: o.force ?? false,
            log: (m) => console.error(m),
          });
          console.log(
            `${name} weights are in ${got.file} (sha256 ${got.sha256}, verified against ` +
              `${got.verifiedAgainst.map((v) => (v === "server" ? "the server's X-Linked-Etag" : "--sha256")).join(" and ")}); ` +
              `use --crafter ${got.file}`,
          );
          if (o.json) printJson({ name, ...got });
          return;
        }
        if (!datasets.includes(name)) {
          throw new Error(`cannot download '${name}'; known: ${[...datasets, ...WEIGHT_ARCHITECTURES].join(", ")}`);
        }
        if (o.url || o.sha256) throw new Error("--url and --sha256 are for weights; datasets have pinned checksums");
        const dir = await download(name as DownloadableName, {
          dataDir: dest,
          mirrors: o.mirror.length ? o.mirror : undefined,
          force: o.force ?? false,
          log: (m) => console.error(m),
        });
        console.log(`${name} is in ${dir}; use --dataset ${name}:${dir}`);
        if (o.json) printJson({ name, dir });
      }),
    );
}
