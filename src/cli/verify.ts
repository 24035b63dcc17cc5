// `advpoison verify`: checks a release against its source; exit code 1 with the reasons when it fails.
import type { Command } from "commander";
import { verifyRelease } from "../poison/index.js";
import { verifyProtected } from "../protect/index.js";
import { action, loadData, positiveInt, positiveNumber, printJson } from "./common.js";

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(
      "check a release against its source: every file, labels, budget (its method's norm), test split, manifest",
    )
    .requiredOption(
      "--source <spec>",
      "the clean dataset the release was made from (with --protected: the photo directory)",
    )
    .option("--data-dir <dir>", "where the named source dataset lives")
    .option("--subset <n>", "the --subset the release was crafted with", positiveInt)
    .option("--release <dir>", "the release directory")
    .option("--protected <dir>", "instead of --release: a tree written by `advpoison protect`")
    .requiredOption("--eps <levels>", "the L-inf budget to hold it to, in grey levels", positiveNumber)
    .option("--json", "print one JSON result as the last line")
    .action(
      action(
        async (o: {
          source: string;
          dataDir?: string;
          subset?: number;
          release?: string;
          protected?: string;
          eps: number;
          json?: boolean;
        }) => {
          if ((o.release === undefined) === (o.protected === undefined))
            throw new Error("verify needs exactly one of --release DIR and --protected DIR");
          if (o.protected !== undefined) {
            const v = await verifyProtected(o.protected, o.source, o.eps);
            if (v.ok)
              console.log(
                `ok: ${v.checked.photos} photos (${v.checked.skipped} skipped at protection), max L-inf ${v.checked.maxLinf}`,
              );
            else {
              for (const p of v.problems) console.error(`verify: ${p}`);
              process.exitCode = 1;
            }
            if (o.json) printJson({ ok: v.ok, problems: v.problems, ...v.checked });
            return;
          }
          const { train, test } = loadData({ dataset: o.source, dataDir: o.dataDir, subset: o.subset });
          const v = verifyRelease(train, o.release!, o.eps, { test });
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
