// The HTML report of a protection run: the summary, before/after thumbnails of the first photos (so a person
// can see that they look the same), and a table of every photo's numbers up to a limit.
import { join } from "node:path";
import sharp from "sharp";
import { escapeHtml, formatPercent } from "../report/format.js";
import type { ProtectManifest } from "./manifest.js";

const THUMBNAILS = 24;
const TABLE_ROWS = 500;
const THUMB_SIDE = 200;

async function thumbnail(path: string): Promise<string> {
  try {
    const jpeg = await sharp(path)
      .rotate()
      .resize(THUMB_SIDE, THUMB_SIDE, { fit: "inside" })
      .jpeg({ quality: 90 })
      .toBuffer();
    return `<img alt="" src="data:image/jpeg;base64,${jpeg.toString("base64")}">`;
  } catch {
    return "<span>(unreadable)</span>";
  }
}

/** The report's HTML for `m`, whose photos are under `out` (the sources under m.source). */
export async function renderProtectReport(m: ProtectManifest, out: string): Promise<string> {
  const s = m.summary;
  const cards: string[] = [];
  for (const p of m.photos.slice(0, THUMBNAILS)) {
    const before = await thumbnail(join(m.source, p.path));
    const after = await thumbnail(join(out, p.path));
    cards.push(
      `<figure><div>${before}${after}</div><figcaption>${escapeHtml(p.path)} ${p.width}x${p.height}<br>` +
        `L-inf ${p.linf}, PSNR ${p.psnr ?? "∞"} dB, SSIM ${p.ssim.toFixed(4)}, ${p.fooled ? "fooled" : "not fooled"}` +
        `</figcaption></figure>`,
    );
  }
  const rows = m.photos
    .slice(0, TABLE_ROWS)
    .map(
      (p) =>
        `<tr><td>${escapeHtml(p.path)}</td><td>${p.width}x${p.height}</td><td>${p.format}${p.jpeg_quality ? ` q${p.jpeg_quality}` : ""}</td>` +
        `<td>${p.label}</td><td>${p.target}</td><td>${p.pred}</td><td>${p.fooled ? "yes" : "no"}</td>` +
        `<td>${p.linf}</td><td>${p.psnr ?? "∞"}</td><td>${p.ssim.toFixed(4)}</td><td>${p.kept.toFixed(3)}</td></tr>`,
    )
    .join("\n");
  const skipped = m.skipped.map((k) => `<li>${escapeHtml(k.path)}: ${escapeHtml(k.error)}</li>`).join("\n");
  const st = m.settings;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>advpoison protect: ${escapeHtml(m.source)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
figure{display:inline-block;margin:.5em;vertical-align:top}figure img{margin-right:4px;border:1px solid #ccc}
figcaption{font-size:.8em;max-width:420px}table{border-collapse:collapse;font-size:.85em}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}td:first-child{text-align:left}
</style></head><body>
<h1>Protected photos</h1>
<p><b>${s.count}</b> photos from <code>${escapeHtml(m.source)}</code> (${s.skipped} skipped);
max L-inf <b>${s.max_linf}</b>/255 after decoding (budget ${st.eps});
the crafting model is fooled on <b>${formatPercent(s.attack_success)}</b> of the written photos through the evaluation
resize (${formatPercent(s.attack_success_before_encoding)} before encoding); mean PSNR ${s.mean_psnr?.toFixed(2) ?? "∞"} dB,
mean SSIM ${s.mean_ssim.toFixed(4)}; the encoding keeps ${formatPercent(s.mean_kept)} of the perturbation;
${s.seconds.toFixed(1)} s.</p>
<p>Settings: ${escapeHtml(st.method)}, ${st.steps} steps of ${st.step_size}/255, ${st.views} views per step at
${st.input_side} px, labels from ${st.labels}, JPEG quality ${st.jpeg_quality}, ${st.precision},
crafters ${st.crafters.map((c) => `${escapeHtml(c.model)} (${c.sha256.slice(0, 12)})`).join(", ")}.</p>
<h2>Before and after</h2>
${cards.join("\n")}
<h2>Photos${m.photos.length > TABLE_ROWS ? ` (first ${TABLE_ROWS} of ${m.photos.length})` : ""}</h2>
<table><tr><th>path</th><th>size</th><th>format</th><th>label</th><th>target</th><th>prediction</th><th>fooled</th>
<th>L-inf</th><th>PSNR</th><th>SSIM</th><th>kept</th></tr>
${rows}
</table>
${skipped ? `<h2>Skipped</h2><ul>${skipped}</ul>` : ""}
</body></html>
`;
}
