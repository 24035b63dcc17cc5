// `advpoison report DIR`: the HTML report (and its JSON) of a run directory. A directory of releases and
// trained models (e.g. from scripts/experiments/*.sh) is collected afresh; a demo's or an experiment's
// report is rendered again from its report.json (their runs write their reports themselves).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import {
  REPORT_JSON,
  type ReportData,
  readReportJson,
  runDirReport,
  scanRunDir,
  writeReport,
} from "../report/index.js";
import { action, positiveInt, printJson } from "./common.js";

interface ReportCliOptions {
  out?: string;
  perClass: number;
  json?: boolean;
}

function reportOf(dir: string, o: ReportCliOptions): { data: ReportData; how: string } {
  const existing = join(dir, REPORT_JSON);
  if (existsSync(existing)) {
    const data = readReportJson(existing);
    if (data.generator !== "run-dir") return { data, how: `rendered again from ${existing}` };
  }
  const found = scanRunDir(dir);
  const data = runDirReport(dir, found, { perClass: o.perClass });
  for (const u of found.unreadable) console.error(`advpoison: warning: skipped ${u.reason}`);
  return {
    data,
    how:
      `${found.releases.length} releases and ${found.runs.length} trained models collected` +
      (found.unreadable.length ? `, ${found.unreadable.length} unreadable skipped` : ""),
  };
}

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("write the HTML report of a run directory (releases and trained models, a demo, an experiment)")
    .argument("<dir>", "run directory")
    .option("--out <dir>", "where report.html and report.json go (default: the run directory)")
    .option("--per-class <n>", "example images per class and release", positiveInt, 2)
    .option("--json", "print one JSON result as the last line")
    .action(
      action((dir: string, o: ReportCliOptions) => {
        const { data, how } = reportOf(dir, o);
        const written = writeReport(o.out ?? dir, data);
        console.log(`report: ${written.html} (${how})`);
        if (o.json) printJson({ report: written.html, report_json: written.json });
      }),
    );
}
