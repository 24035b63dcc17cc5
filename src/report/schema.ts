// Reading report.json back (to render it again, e.g. after an upgrade of the page): the file is checked
// against the shape of ReportData, so a damaged or hand-edited file fails with the path of the bad field.
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import type { ReportData } from "./types.js";

const cell = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const image = z.strictObject({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  png: z.string(),
});

const ReportSchema = z.strictObject({
  title: z.string(),
  subtitle: z.string().optional(),
  generator: z.string().optional(),
  headline: z
    .array(
      z.strictObject({
        label: z.string(),
        value: z.string(),
        detail: z.string().optional(),
        tone: z.enum(["good", "bad", "neutral"]).optional(),
      }),
    )
    .optional(),
  params: z.record(z.string(), cell),
  tables: z.array(
    z.strictObject({
      title: z.string(),
      columns: z.array(z.string()),
      rows: z.array(z.array(cell)),
      note: z.string().optional(),
      highlight: z.array(z.number().int().nonnegative()).optional(),
    }),
  ),
  curves: z.array(
    z.strictObject({
      title: z.string(),
      xLabel: z.string(),
      yLabel: z.string(),
      yFormat: z.enum(["percent", "number"]).optional(),
      series: z.array(
        z.strictObject({ name: z.string(), points: z.array(z.tuple([z.number().nullable(), z.number().nullable()])) }),
      ),
    }),
  ),
  imageGrids: z.array(
    z.strictObject({
      title: z.string(),
      classNames: z.array(z.string()),
      amplification: z.number(),
      rows: z.array(
        z.strictObject({
          label: z.number().int(),
          className: z.string(),
          examples: z.array(
            z.strictObject({
              index: z.number().int(),
              clean: image,
              poisoned: image,
              perturbation: image,
              linf: z.number(),
            }),
          ),
        }),
      ),
    }),
  ),
  photoPairs: z.array(z.strictObject({ caption: z.string(), before: image, after: image })).optional(),
  manifest: z.unknown().optional(),
  notes: z.array(z.string()),
  created: z.string().optional(),
});

/** The report data in `path` (a report.json), validated. */
export function readReportJson(path: string): ReportData {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf-8"));
  } catch (e) {
    throw new Error(`${path}: not JSON (${(e as Error).message})`);
  }
  const parsed = ReportSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${path}: ${issue.path.join(".") || "the report"}: ${issue.message}`);
  }
  // JSON writes non-finite chart coordinates as null; the charts skip non-finite points.
  const data = parsed.data;
  for (const c of data.curves)
    for (const s of c.series) s.points = s.points.map(([x, y]) => [x ?? Number.NaN, y ?? Number.NaN]);
  return data as ReportData;
}
