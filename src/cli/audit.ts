// `advpoison audit`: what a determined trainer still gets from a release. Trains victims on the release under a
// battery of defences and their clean counterparts on the source; resumable; report.html, audit.json, results.json.
import type { Command } from "commander";
import { AUDIT_DEFENSES, AUDIT_EPOCHS, parseDefense, runAudit, textTable } from "../experiment/index.js";
import { formatPercent } from "../report/index.js";
import {
  action,
  addDeviceOption,
  addPrecisionOption,
  positiveInt,
  printJson,
  resolveDevice,
  resolvePrecision,
} from "./common.js";
import { terminalProgress } from "./progress.js";

interface AuditCliOptions {
  release: string;
  source: string;
  dataDir?: string;
  subset?: number;
  defenses: string;
  victims?: string;
  epochs: number;
  seeds: number;
  testSubset?: number;
  out: string;
  json?: boolean;
  device: string;
  precision: "fp32" | "bf16" | "auto";
}

const items = (v: string) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

export function registerAudit(program: Command): void {
  const cmd = program
    .command("audit")
    .description(
      "what a determined trainer still gets from a release: victims trained on it under a battery of defences, " +
        "each beside its clean counterpart, scored at the last epoch and early-stopped on a clean validation half",
    )
    .requiredOption("--release <dir>", "the release (a directory with manifest.json)")
    .requiredOption("--source <spec>", "the clean dataset it was made from (fashion-mnist, cifar10:DIR, ...)")
    .option("--data-dir <dir>", "where the named source dataset lives")
    .option("--subset <n>", "the first n training images (default: the subset the release was crafted on)", positiveInt)
    .option(
      "--defenses <list>",
      "NAME or NAME:VALUE, comma-separated (VALUE sets adversarial:EPS, jpeg:QUALITY, bdr:BITS, noise:SIGMA, " +
        "cutout:FRACTION, mixup:ALPHA, cutmix:ALPHA); none is always run",
      AUDIT_DEFENSES.join(","),
    )
    .option(
      "--victims <list>",
      "victim architectures: the first trains under every defence, the others without one (transfer); default " +
        "the release's crafting architecture (smallcnn-bn unless smallcnn) and the other of smallcnn-bn, smallcnn",
    )
    .option("--epochs <n>", "epochs of every victim (the fast recipe)", positiveInt, AUDIT_EPOCHS)
    .option("--seeds <n>", "victims per row and training set (seeds 1..n); mean ± sd", positiveInt, 1)
    .option("--test-subset <n>", "split only the first n test images into the two halves (default: all)", positiveInt)
    .requiredOption("--out <dir>", "run directory: results.json (resumable), audit.json, report.html")
    .option("--json", "print one JSON result as the last line");
  addPrecisionOption(addDeviceOption(cmd)).action(
    action(async (o: AuditCliOptions) => {
      const defenses = items(o.defenses).map((d) => parseDefense(d));
      const device = resolveDevice(o.device);
      // Refuses bf16 where it is not native before anything runs; the runner resolves "auto" the same way.
      resolvePrecision(o.precision, device);
      const r = await runAudit({
        releaseDir: o.release,
        source: o.source,
        dataDir: o.dataDir ?? null,
        subset: o.subset,
        defenses,
        victims: o.victims === undefined ? undefined : items(o.victims),
        epochs: o.epochs,
        seeds: o.seeds,
        testSubset: o.testSubset,
        precision: o.precision,
        device,
        out: o.out,
        progress: terminalProgress(),
        command: `advpoison ${process.argv.slice(2).join(" ")}`,
      });
      const pct = (v: number, sd: number) =>
        `${formatPercent(v)}${r.victim_seeds.length > 1 ? ` ± ${(100 * sd).toFixed(1)}` : ""}`;
      console.log("");
      console.log(
        textTable(
          ["defence", "victim", "release: stopped (epoch)", "final", "clean: stopped", "final"],
          r.rows.map((x) => [
            x.defense,
            x.victim,
            `${pct(x.stopped, x.stopped_sd)} (${x.stopped_epoch})`,
            pct(x.final, x.final_sd),
            pct(x.clean_stopped, x.clean_stopped_sd),
            pct(x.clean_final, x.clean_final_sd),
          ]),
        ),
      );
      for (const s of r.skipped) console.log(`${s.defense} (${s.victim}): skipped, ${s.reason}`);
      console.log("");
      console.log(
        `what of the perturbation reaches the victim (pixel values changed, mean |change| in grey levels): ${r.survival
          .map((s) => `${s.defense} ${formatPercent(s.changed)}, ${s.mean_abs.toFixed(1)}`)
          .join("; ")}`,
      );
      console.log(
        `worst case: ${r.worst_case.defense} (${r.worst_case.victim}) recovers ${formatPercent(r.worst_case.acc)} ` +
          `against ${formatPercent(r.clean_acc)} clean: protection ${(100 * r.protection).toFixed(1)} points ` +
          `(early-stopped scores; plain training on the release ${formatPercent(r.plain_stopped_acc)})`,
      );
      console.log(
        `${r.victims_trained} victims trained, ${r.victims_reused} reused; ${r.seconds.toFixed(0)} s; ` +
          `report: ${r.report}; ${r.audit_json}`,
      );
      if (o.json) printJson({ ...r });
    }),
  );
}
