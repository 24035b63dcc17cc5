// The run report: a self-contained report.html (inline CSS, PNG data URIs, inline SVG charts, no scripts)
// and report.json, the data it shows.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { compactJson } from "./format.js";
import { renderReport } from "./render.js";
import type { ReportData } from "./types.js";

export { renderCurve } from "./chart.js";
export { compactJson, escapeHtml, formatMeanSd, formatPeak, formatPercent, meanSd } from "./format.js";
export { embedImage, type GridOptions, perturbationGrid } from "./grid.js";
export { historySeries } from "./history.js";
export { manifestFacts, RELEASE_COLUMNS, type ReleaseFacts, releaseRow } from "./release-table.js";
export { CONTENT_SECURITY_POLICY, renderReport, validateReport } from "./render.js";
export { type FoundRelease, type FoundRun, type RunDirContents, runDirReport, scanRunDir } from "./run-dir.js";
export { readReportJson } from "./schema.js";
export type {
  Cell,
  CurveSeries,
  EmbeddedImage,
  GridExample,
  GridRow,
  HeadlineStat,
  ImageGrid,
  PhotoPair,
  ReportCurve,
  ReportData,
  ReportTable,
} from "./types.js";

export const REPORT_HTML = "report.html";
export const REPORT_JSON = "report.json";

/**
 * Writes `dir`/report.html and `dir`/report.json (creating `dir`), each atomically: a reader sees the old
 * file or the new one, never a part. Returns the paths written.
 */
export function writeReport(dir: string, data: ReportData): { html: string; json: string } {
  const page = renderReport(data); // validates before anything is written
  mkdirSync(dir, { recursive: true });
  const html = join(dir, REPORT_HTML);
  const json = join(dir, REPORT_JSON);
  writeFileAtomic(json, `${compactJson(data)}\n`);
  writeFileAtomic(html, page);
  return { html, json };
}
