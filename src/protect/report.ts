// The report of a protection run, as the report layer draws every report (same page, same Content-Security-
// Policy, report.json beside it): the summary, before/after thumbnails of the first photos (so a person can see
// that they look the same), and a table of every photo's numbers up to a limit.
import { join } from "node:path";
import sharp from "sharp";
import { type EmbeddedImage, formatPercent, type PhotoPair, type ReportData } from "../report/index.js";
import type { ProtectManifest } from "./manifest.js";

const THUMBNAILS = 24;
const TABLE_ROWS = 500;
const THUMB_SIDE = 200;

/** A PNG thumbnail of the photo as shown (EXIF orientation applied); undefined when it cannot be decoded. */
async function thumbnail(path: string): Promise<EmbeddedImage | undefined> {
  try {
    const { data, info } = await sharp(path)
      .rotate()
      .resize(THUMB_SIDE, THUMB_SIDE, { fit: "inside" })
      .png()
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, png: data.toString("base64") };
  } catch {
    return undefined;
  }
}

const psnrText = (psnr: number | null) => (psnr === null ? "∞" : psnr.toFixed(2));

/** The report of `m`, whose photos are under `out` (the sources under m.source). */
export async function protectReport(m: ProtectManifest, out: string): Promise<ReportData> {
  const s = m.summary;
  const st = m.settings;
  const photoPairs: PhotoPair[] = [];
  const unreadable: string[] = [];
  for (const p of m.photos.slice(0, THUMBNAILS)) {
    const before = await thumbnail(join(m.source, p.path));
    const after = await thumbnail(join(out, p.path));
    if (!before || !after) {
      unreadable.push(p.path);
      continue;
    }
    photoPairs.push({
      caption:
        `${p.path} ${p.width}x${p.height}: L-inf ${p.linf}, PSNR ${psnrText(p.psnr)} dB, SSIM ${p.ssim.toFixed(4)}, ` +
        `${p.fooled ? "fooled" : "not fooled"}`,
      before,
      after,
    });
  }
  const shown = m.photos.slice(0, TABLE_ROWS);
  return {
    title: `advpoison protect: ${m.source}`,
    generator: "protect",
    subtitle:
      `${s.count} photos protected (${s.skipped} skipped); the crafting model is fooled on ` +
      `${formatPercent(s.attack_success)} of the written photos through the evaluation resize ` +
      `(${formatPercent(s.attack_success_before_encoding)} before encoding).`,
    headline: [
      { label: "photos", value: String(s.count), detail: `${s.skipped} skipped` },
      { label: "crafter fooled", value: formatPercent(s.attack_success), tone: "good" },
      { label: "max L-inf", value: `${s.max_linf}/255`, detail: `after decoding; budget ${st.eps}/255` },
      { label: "mean SSIM", value: s.mean_ssim.toFixed(4), detail: `mean PSNR ${psnrText(s.mean_psnr)} dB` },
    ],
    params: {
      source: m.source,
      method: st.method,
      eps: `${st.eps}/255`,
      steps: st.steps,
      "step size": `${st.step_size}/255`,
      views: st.views,
      "input side": st.input_side,
      labels: st.labels,
      "JPEG quality": st.jpeg_quality,
      precision: st.precision,
      crafters: st.crafters.map((c) => `${c.model} (${c.sha256.slice(0, 12)})`).join(", "),
      "perturbation kept by encoding": formatPercent(s.mean_kept),
      seconds: Number(s.seconds.toFixed(1)),
    },
    tables: [
      {
        title: m.photos.length > TABLE_ROWS ? `Photos (first ${TABLE_ROWS} of ${m.photos.length})` : "Photos",
        columns: ["path", "size", "format", "label", "target", "prediction", "fooled", "L-inf", "PSNR", "SSIM", "kept"],
        rows: shown.map((p) => [
          p.path,
          `${p.width}x${p.height}`,
          `${p.format}${p.jpeg_quality ? ` q${p.jpeg_quality}` : ""}`,
          p.label,
          p.target,
          p.pred,
          p.fooled,
          p.linf,
          psnrText(p.psnr),
          p.ssim.toFixed(4),
          p.kept.toFixed(3),
        ]),
      },
      ...(m.skipped.length
        ? [{ title: "Skipped", columns: ["path", "why"], rows: m.skipped.map((k) => [k.path, k.error]) }]
        : []),
    ],
    curves: [],
    imageGrids: [],
    photoPairs,
    notes: unreadable.length ? [`No thumbnails of ${unreadable.join(", ")}: a photo could not be decoded.`] : [],
    created: new Date().toISOString(),
  };
}
