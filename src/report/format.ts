// Text helpers for the report: HTML escaping, number formatting, and a compact JSON layout that keeps
// long arrays of numbers on one line instead of one number per line.

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and quoted attribute values (also inside inline SVG). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** 0.9123 -> "91.2%". Non-finite values print as an en dash. */
export function formatPercent(fraction: number, digits = 1): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(digits)}%` : "–";
}

/** A best epoch's accuracy with the epoch: "68.0% (epoch 1)"; an en dash without an accuracy. */
export function formatPeak(fraction: number, epoch: number, digits = 1): string {
  return Number.isFinite(fraction) ? `${formatPercent(fraction, digits)} (epoch ${epoch})` : "–";
}

/** Mean and sample standard deviation (0 for a single value; NaN for none). */
export function meanSd(values: readonly number[]): { mean: number; sd: number } {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, sd: Number.NaN };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n === 1) return { mean, sd: 0 };
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, sd: Math.sqrt(variance) };
}

/** Accuracies as "91.2 ± 0.3%" (the mean alone for one value); `digits` after the point. */
export function formatMeanSd(fractions: readonly number[], digits = 1): string {
  if (fractions.length === 0) return "–";
  const { mean, sd } = meanSd(fractions);
  if (fractions.length === 1) return formatPercent(mean, digits);
  return `${(mean * 100).toFixed(digits)} ± ${(sd * 100).toFixed(digits)}%`;
}

export interface CompactJsonOptions {
  /** Arrays longer than this show their first `maxArray` items and a count of the rest (not valid JSON then). */
  maxArray?: number;
  indent?: number;
}

/**
 * JSON indented like JSON.stringify(v, null, 2), except that arrays of primitives stay on one line. Without
 * `maxArray` the result is valid JSON that parses back to the same value as JSON.stringify's.
 */
export function compactJson(value: unknown, o: CompactJsonOptions = {}): string {
  const step = " ".repeat(o.indent ?? 2);
  const max = o.maxArray ?? Number.POSITIVE_INFINITY;
  const primitive = (v: unknown) => v === null || typeof v !== "object";
  const walk = (v: unknown, pad: string): string | undefined => {
    if (v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function") {
      v = (v as { toJSON: () => unknown }).toJSON();
    }
    if (v === undefined || typeof v === "function" || typeof v === "symbol") return undefined;
    if (primitive(v)) return JSON.stringify(v);
    const inner = pad + step;
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      const shown = v.slice(0, max).map((x) => walk(x, inner) ?? "null");
      const rest = v.length > max ? `… ${v.length - max} more` : undefined;
      if (v.every(primitive)) return `[${[...shown, ...(rest ? [rest] : [])].join(", ")}]`;
      return `[\n${[...shown, ...(rest ? [rest] : [])].map((s) => inner + s).join(",\n")}\n${pad}]`;
    }
    const entries = Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => {
      const s = walk(x, inner);
      return s === undefined ? [] : [`${inner}${JSON.stringify(k)}: ${s}`];
    });
    return entries.length ? `{\n${entries.join(",\n")}\n${pad}}` : "{}";
  };
  return walk(value, "") ?? "null";
}
