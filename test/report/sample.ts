// Realistic sample data for the report tests: a small Fashion-MNIST-like dataset (10 classes, 28x28 grey,
// a class-dependent pattern plus noise), a poisoned copy within 16 grey levels, and the numbers of a run.
import type { Dataset } from "../../src/data/dataset.js";
import { FASHION_MNIST_CLASS_NAMES } from "../../src/data/index.js";
import { formatMeanSd, formatPercent, perturbationGrid, type ReportData } from "../../src/report/index.js";

export const CLASS_NAMES = FASHION_MNIST_CLASS_NAMES;
export const SIDE = 28;
export const PER_CLASS_IN_DATA = 6;
export const EPS = 16;

/** A deterministic generator of floats in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** 60 images, labels cycling 0..9, each a soft class-specific pattern inside a disc, plus noise. */
export function sampleSource(classNames: readonly string[] = CLASS_NAMES): Dataset {
  const count = classNames.length * PER_CLASS_IN_DATA;
  const images = new Uint8Array(count * SIDE * SIDE);
  const labels = new Int32Array(count);
  const rand = lcg(7);
  for (let i = 0; i < count; i++) {
    const c = i % classNames.length;
    labels[i] = c;
    const fx = 0.25 + 0.07 * c;
    const fy = 0.2 + 0.05 * ((c * 3) % 10);
    const phase = rand() * Math.PI;
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const r = Math.hypot(x - 13.5, y - 13.5);
        const inside = r < 11 + 2 * Math.sin(c + x / 5) ? 1 : 0.15;
        const v = inside * (150 + 90 * Math.sin(x * fx + phase) * Math.cos(y * fy)) + (rand() - 0.5) * 30;
        images[i * SIDE * SIDE + y * SIDE + x] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return {
    images,
    labels,
    count,
    height: SIDE,
    width: SIDE,
    channels: 1,
    numClasses: classNames.length,
    classNames: [...classNames],
    source: { format: "npy", imagesFile: "images.npy", labelsFile: "labels.npy", labelDescr: "<i8", imagesNdim: 3 },
  };
}

/** Every image but each 6th (0, 6, 12, ...) perturbed by at most EPS levels in a class-structured pattern. */
export function samplePoisoned(source: Dataset): Dataset {
  const images = new Uint8Array(source.images!);
  const rand = lcg(11);
  const size = SIDE * SIDE;
  for (let i = 0; i < source.count; i++) {
    if (i % 6 === 0) continue;
    const c = source.labels[i]!;
    for (let p = 0; p < size; p++) {
      const x = p % SIDE;
      const y = Math.floor(p / SIDE);
      const sign = ((x >> 2) + (y >> 2) + c) % 2 === 0 ? 1 : -1;
      const d = Math.round(sign * EPS * (0.6 + 0.4 * rand()));
      images[i * size + p] = Math.max(0, Math.min(255, source.images![i * size + p]! + d));
    }
  }
  return { ...source, images };
}

export const CLEAN_CURVE = [0.712, 0.803, 0.846, 0.868, 0.881];
export const POISONED_CURVE = [0.402, 0.317, 0.256, 0.221, 0.204];

/** A report like the one `advpoison demo` writes, with `title`, `className` and a note as attack strings. */
export function sampleReport(o: { title?: string; classNames?: readonly string[]; note?: string } = {}): ReportData {
  const source = sampleSource(o.classNames);
  const release = samplePoisoned(source);
  const poisonedIndices = Array.from({ length: source.count }, (_, i) => i).filter((i) => i % 6 !== 0);
  return {
    title: o.title ?? "Fashion-MNIST poisoned at ε = 16/255",
    subtitle:
      "60 training images (50 poisoned), 5 epochs of SmallCNN victims, 3 seeds each; accuracy on the clean test set.",
    headline: [
      { label: "clean training", value: formatPercent(0.881), detail: "victim test accuracy", tone: "good" },
      { label: "poisoned training", value: formatPercent(0.204), detail: "victim test accuracy", tone: "bad" },
      { label: "attack success", value: formatPercent(0.93), detail: "crafting model fooled" },
    ],
    params: { dataset: "fashion-mnist", subset: 60, eps: "16/255", steps: 240, "victim epochs": 5, seed: 3 },
    tables: [
      {
        title: "Victim accuracy on the clean test set",
        columns: ["recipe", "eps", "victim", "clean test acc (mean ± sd)"],
        rows: [
          ["clean (no poison)", "0", "smallcnn", formatMeanSd([0.881, 0.874, 0.889])],
          ["untargeted", "16/255", "smallcnn", formatMeanSd([0.352, 0.371, 0.349])],
          ["class-targeted", "16/255", "smallcnn", formatMeanSd([0.204, 0.219, 0.188])],
          ["class-targeted", "8/255", "resnet18", null],
        ],
        note: "Mean ± sample standard deviation over 3 victim seeds; – marks a run that was not done.",
      },
    ],
    curves: [
      {
        title: "Victim test accuracy per epoch",
        xLabel: "epoch",
        yLabel: "test accuracy",
        yFormat: "percent",
        series: [
          { name: "clean training set", points: CLEAN_CURVE.map((y, k) => [k + 1, y]) },
          { name: "poisoned training set", points: POISONED_CURVE.map((y, k) => [k + 1, y]) },
        ],
      },
      {
        title: "Victim training loss",
        xLabel: "epoch",
        yLabel: "cross-entropy",
        series: [
          { name: "clean training set", points: [0.91, 0.55, 0.44, 0.39, 0.35].map((y, k) => [k + 1, y]) },
          { name: "poisoned training set", points: [0.62, 0.21, 0.09, 0.05, 0.03].map((y, k) => [k + 1, y]) },
        ],
      },
    ],
    imageGrids: [perturbationGrid(source, release, 4)],
    manifest: {
      tool: "advpoison",
      version: "0.1.0",
      poisoned_indices: poisonedIndices,
      summary: { count: 60, poisoned: 50, max_linf: 16, attack_success: 0.93 },
    },
    notes: [
      o.note ??
        "Poisoned victims reach high training accuracy on the released images but generalise poorly: the perturbations, not the objects, are what they learn.",
      "Perturbations stay within 16 grey levels of the clean images.",
    ],
    created: "2025-01-02T03:04:05.000Z",
  };
}
