// What a report shows. All of it is plain JSON (report.json holds exactly this), and every string is text,
// never markup: the renderer escapes it, so dataset class names or file names cannot inject HTML.

/** One of the big numbers in the page header, e.g. { label: "clean", value: "91.2%" }. */
export interface HeadlineStat {
  label: string;
  /** Already formatted (see formatPercent). */
  value: string;
  /** A short line under the value, e.g. "test accuracy, mean of 3 victims". */
  detail?: string;
  /** Colours the value: "good" for the clean baseline, "bad" for the poisoned result. */
  tone?: "good" | "bad" | "neutral";
}

/** A value in a table cell or a run parameter. Numbers are shown as given (format them first if needed). */
export type Cell = string | number | boolean | null;

export interface ReportTable {
  title: string;
  columns: string[];
  /** Each row has one cell per column. */
  rows: Cell[][];
  /** Shown under the table, e.g. how the spread was computed. */
  note?: string;
  /** Rows (0-based) to mark, e.g. an audit's worst case; the note should say what the mark means. */
  highlight?: number[];
}

export interface CurveSeries {
  name: string;
  /** [x, y] pairs in drawing order; pairs with a non-finite coordinate are skipped, breaking the line. */
  points: [number, number][];
}

export interface ReportCurve {
  title: string;
  xLabel: string;
  yLabel: string;
  /**
   * "percent": y values are fractions in [0, 1] (accuracies), drawn on a fixed 0-100% axis so curves from
   * different charts compare at a glance. "number" (the default): y is drawn as is, on a fitted axis.
   */
  yFormat?: "percent" | "number";
  series: CurveSeries[];
}

/** A PNG image, 8 bits per sample, as base64 (so report.json alone can redraw the page). */
export interface EmbeddedImage {
  width: number;
  height: number;
  /** Base64 of the PNG file. */
  png: string;
}

/** One training image: as released clean, as poisoned, and the difference made visible. */
export interface GridExample {
  /** The image's index in the dataset. */
  index: number;
  clean: EmbeddedImage;
  poisoned: EmbeddedImage;
  /** (poisoned - clean) * amplification + 128, clamped: mid-grey is no change. */
  perturbation: EmbeddedImage;
  /** Largest per-pixel change, in grey levels (0..255). */
  linf: number;
}

export interface GridRow {
  label: number;
  className: string;
  examples: GridExample[];
}

export interface ImageGrid {
  title: string;
  classNames: string[];
  /** The factor applied to every perturbation in this grid (one factor, so magnitudes compare). */
  amplification: number;
  /** One row per class, in label order. */
  rows: GridRow[];
}

/** A photo before and after (e.g. protect's thumbnails), so a person can see that they look the same. */
export interface PhotoPair {
  caption: string;
  before: EmbeddedImage;
  after: EmbeddedImage;
}

/** Everything a report page shows; report.json is this object. */
export interface ReportData {
  title: string;
  /** The run's scale and settings in a sentence. */
  subtitle?: string;
  /**
   * What wrote it: "demo", "experiment" or "run-dir". `advpoison report` rebuilds a "run-dir" report from
   * the directory's files and renders the others again from their JSON.
   */
  generator?: string;
  /** The headline numbers, e.g. clean vs poisoned victim accuracy; drawn large in the header. */
  headline?: HeadlineStat[];
  /** Run parameters, shown as a key/value list in insertion order. */
  params: Record<string, Cell>;
  tables: ReportTable[];
  curves: ReportCurve[];
  imageGrids: ImageGrid[];
  /** Photos before and after, shown side by side at their embedded size. */
  photoPairs?: PhotoPair[];
  /** A raw JSON document (e.g. the release manifest), shown collapsed; long arrays are elided on the page. */
  manifest?: unknown;
  /** Paragraphs of plain text. */
  notes: string[];
  /** When the data was produced (ISO 8601); shown in the footer. */
  created?: string;
}
