// Line charts as inline SVG: axes with "nice" ticks, one colour and dash pattern per series (colours come
// from the page's CSS, so they adapt to dark mode), a point marker with a tooltip per value, an HTML legend,
// and the numbers themselves in a collapsed table for screen readers and copying.
import { escapeHtml as esc, formatPercent } from "./format.js";
import type { ReportCurve } from "./types.js";

const W = 560;
const H = 320;
const M = { left: 58, right: 18, top: 14, bottom: 46 };
/** Dash patterns, cycled after the 8 colours so that series stay distinct in greyscale print too. */
const DASHES = ["", "7 4", "2 3", "10 3 2 3"];
export const SERIES_COLORS = 8;

/** A round step near span/target: 1, 2 or 5 times a power of ten. */
function niceStep(span: number, target: number): number {
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

/** Removes float noise such as 0.30000000000000004 from multiples of `step`. */
const roundTo = (v: number, step: number) => {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(digits, 15)));
};

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  label: (v: number) => string;
}

/** The axis for values in [min, max]: `extend` widens it out to whole ticks, else ticks lie inside. */
function axis(min: number, max: number, target: number, extend: boolean, integers: boolean): Axis {
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  let step = niceStep(max - min, target);
  if (integers) step = Math.max(1, Math.round(step));
  const first = extend ? Math.floor(min / step + 1e-9) * step : Math.ceil(min / step - 1e-9) * step;
  const last = extend ? Math.ceil(max / step - 1e-9) * step : Math.floor(max / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let k = 0; first + k * step <= last + step * 1e-9 && k < 100; k++) ticks.push(roundTo(first + k * step, step));
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return {
    lo: extend ? ticks[0]! : min,
    hi: extend ? ticks[ticks.length - 1]! : max,
    ticks,
    label: (v) => v.toFixed(Math.min(digits, 10)),
  };
}

const fmt = (v: number) => Number(v.toFixed(2)).toString();

export const formatY = (curve: ReportCurve, y: number): string =>
  curve.yFormat === "percent" ? formatPercent(y) : Number.isFinite(y) ? Number(y.toPrecision(4)).toString() : "–";

/** The chart as a <figure>: the SVG, its legend, and its data in a collapsed table. `id` must be unique. */
export function renderCurve(curve: ReportCurve, id: string): string {
  const finite = curve.series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const names = curve.series.map((s) => s.name);
  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  const desc = `Line chart of ${curve.yLabel} against ${curve.xLabel}${names.length ? ` for ${names.join(", ")}` : ""}.`;
  const head = `<figure class="chart" id="${id}"><figcaption id="${titleId}">${esc(curve.title)}</figcaption>`;
  if (finite.length === 0) return `${head}<p class="empty">No data points.</p></figure>`;

  const xs = finite.map((p) => p[0]);
  const ys = finite.map((p) => p[1]);
  const xAxis = axis(Math.min(...xs), Math.max(...xs), 6, false, xs.every(Number.isInteger));
  const percent = curve.yFormat === "percent";
  const yAxis = percent
    ? { lo: 0, hi: 1, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1], label: (v: number) => `${Math.round(v * 100)}%` }
    : axis(Math.min(...ys), Math.max(...ys), 5, true, false);
  if (percent) {
    // Values outside [0, 1] (not accuracies after all) still fit.
    yAxis.lo = Math.min(0, ...ys);
    yAxis.hi = Math.max(1, ...ys);
  }
  const px = (x: number) => M.left + ((x - xAxis.lo) / (xAxis.hi - xAxis.lo)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - ((y - yAxis.lo) / (yAxis.hi - yAxis.lo)) * (H - M.top - M.bottom);
  const x0 = M.left;
  const x1 = W - M.right;
  const y0 = H - M.bottom;
  const y1 = M.top;

  const parts: string[] = [];
  parts.push(`<title id="${titleId}-svg">${esc(curve.title)}</title><desc id="${descId}">${esc(desc)}</desc>`);
  // Grid and y ticks.
  parts.push('<g class="grid">');
  for (const t of yAxis.ticks) parts.push(`<line x1="${x0}" x2="${x1}" y1="${fmt(py(t))}" y2="${fmt(py(t))}"/>`);
  parts.push("</g>");
  parts.push('<g class="axis">');
  parts.push(`<line x1="${x0}" x2="${x0}" y1="${y1}" y2="${y0}"/><line x1="${x0}" x2="${x1}" y1="${y0}" y2="${y0}"/>`);
  for (const t of yAxis.ticks) {
    const y = fmt(py(t));
    parts.push(`<line x1="${x0 - 5}" x2="${x0}" y1="${y}" y2="${y}"/>`);
    parts.push(`<text x="${x0 - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${yAxis.label(t)}</text>`);
  }
  for (const t of xAxis.ticks) {
    const x = fmt(px(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${y0}" y2="${y0 + 5}"/>`);
    parts.push(`<text x="${x}" y="${y0 + 18}" text-anchor="middle">${xAxis.label(t)}</text>`);
  }
  parts.push(
    `<text class="label" x="${fmt((x0 + x1) / 2)}" y="${H - 8}" text-anchor="middle">${esc(curve.xLabel)}</text>`,
  );
  parts.push(
    `<text class="label" transform="translate(14 ${fmt((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle">${esc(curve.yLabel)}</text>`,
  );
  parts.push("</g>");

  curve.series.forEach((s, i) => {
    const dash = DASHES[Math.floor(i / SERIES_COLORS) % DASHES.length]!;
    let d = "";
    let pen = false;
    const markers: string[] = [];
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).length;
    const r = pts > 60 ? 0 : pts > 25 ? 2 : 3.2;
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${fmt(px(x))} ${fmt(py(y))}`;
      pen = true;
      if (r > 0) {
        const tip = `${s.name}: ${curve.xLabel} ${fmt(x)}, ${formatY(curve, y)}`;
        markers.push(`<circle cx="${fmt(px(x))}" cy="${fmt(py(y))}" r="${r}"><title>${esc(tip)}</title></circle>`);
      }
    }
    parts.push(
      `<g class="series c${i % SERIES_COLORS}"><path d="${d}"${dash ? ` stroke-dasharray="${dash}"` : ""}/>${markers.join("")}</g>`,
    );
  });

  const svg = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${titleId}-svg ${descId}" xmlns="http://www.w3.org/2000/svg">${parts.join("")}</svg>`;
  const legend = curve.series
    .map((s, i) => {
      const dash = DASHES[Math.floor(i / SERIES_COLORS) % DASHES.length]!;
      const swatch = `<svg class="swatch" viewBox="0 0 28 10" aria-hidden="true"><line x1="1" x2="27" y1="5" y2="5"${dash ? ` stroke-dasharray="${dash}"` : ""}/></svg>`;
      return `<li class="c${i % SERIES_COLORS}">${swatch}${esc(s.name)}</li>`;
    })
    .join("");
  return `${head}${svg}<ul class="legend">${legend}</ul>${dataTable(curve)}</figure>`;
}

/** The chart's numbers: one row per x value, one column per series. */
function dataTable(curve: ReportCurve): string {
  const xs = [...new Set(curve.series.flatMap((s) => s.points.map((p) => p[0])))]
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const lookup = curve.series.map((s) => new Map(s.points.map(([x, y]) => [x, y])));
  const header = `<tr><th scope="col">${esc(curve.xLabel)}</th>${curve.series.map((s) => `<th scope="col">${esc(s.name)}</th>`).join("")}</tr>`;
  const rows = xs
    .map((x) => {
      const cells = lookup.map((m) => {
        const y = m.get(x);
        return `<td class="num">${y === undefined ? "" : esc(formatY(curve, y))}</td>`;
      });
      return `<tr><th scope="row" class="num">${fmt(x)}</th>${cells.join("")}</tr>`;
    })
    .join("");
  return `<details class="data"><summary>Data</summary><div class="table-wrap"><table><thead>${header}</thead><tbody>${rows}</tbody></table></div></details>`;
}
