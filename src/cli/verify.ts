// `advpoison verify`: checks a release against its source; exit code 1 with the reasons when it fails.
import type { Command } from "commander";
import { verifyRelease } from "../poison/index.js";
import { action, loadData, positiveInt, positiveNumber, printJson } from "./common.js";

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(
      "check a release against its source: every file, labels, budget (its method's norm), test split, manifest",
    )
    .requiredOption("--source <spec>", "the clean dataset the release was made from")
    .option("--data-dir <dir>", "where the named source dataset lives")
    .option("--subset <n>", "the --subset the release was crafted with", positiveInt)
    .requiredOption("--release <dir>", "the release directory")
    .requiredOption("--eps <levels>", "the L-inf budget to hold it to, in grey levels", positiveNumber)
    .option("--json", "print one JSON result as the last line")
    .action(
      action(
        (o: { source: string; dataDir?: string; subset?: number; release: string; eps: number; json?: boolean }) => {
          const { train, test } = loadData({
            dataset: o.source,
            ...(o.dataDir ? { dataDir: o.dataDir } : {}),
            ...(o.subset ? { subset: o.subset } : {}),
          });
          const v = verifyRelease(train, o.release, o.eps, { test });
          if (v.ok) {
            console.log(
              `ok: ${v.checked.files} files, ${v.checked.images} images, ${v.checked.poisoned} poisoned, ` +
                `max L-inf ${v.checked.maxLinf}, ${v.checked.budget}`,
            );
          } else {
            for (const p of v.problems) console.error(`verify: ${p}`);
            process.exitCode = 1;
          }
          if (o.json) printJson({ ok: v.ok, problems: v.problems, ...v.checked });
        },
      ),
    );
}
