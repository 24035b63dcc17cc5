// The defences of the `defenses` experiment, as batch transforms for train()'s `batchTransform` hook. They
// live with the experiments (not in src/train): the trainer only knows the generic hook. The compressions and
// grayscale are functions of the images alone (imageDefense), through which the audit also measures a release.

import type { Tensor } from "../../torch/index.js";
import { adversarialTraining } from "./adversarial.js";
import { posterize } from "./bdr.js";
import { cutmix } from "./cutmix.js";
import { cutout } from "./cutout.js";
import { grayscaleSkipReason, toGrayscale } from "./grayscale.js";
import { JPEG10_QUALITY, jpegImages } from "./jpeg.js";
import { mixup } from "./mixup.js";
import { gaussianNoise } from "./noise.js";
import type { BatchTransform } from "./types.js";

export { type AdversarialOptions, adversarialTraining } from "./adversarial.js";
export { type BdrOptions, posterize } from "./bdr.js";
export { type CutmixOptions, cutmix } from "./cutmix.js";
export { type CutoutOptions, cutout, cutoutBox } from "./cutout.js";
export { grayscaleSkipReason, toGrayscale } from "./grayscale.js";
export { JPEG10_QUALITY, type JpegOptions, jpegImages, jpegRoundTrip } from "./jpeg.js";
export { type MixupOptions, mixedTargets, mixup } from "./mixup.js";
export { gaussianNoise, type NoiseOptions } from "./noise.js";
export { type BatchStep, type BatchTransform, sampleBeta, stepRng } from "./types.js";

/** "none" trains on the release as it is. */
export const DEFENSE_NAMES = [
  "none",
  "adversarial",
  "cutout",
  "mixup",
  "cutmix",
  "jpeg",
  "jpeg10",
  "bdr",
  "grayscale",
  "noise",
] as const;
export type DefenseName = (typeof DEFENSE_NAMES)[number];

export interface DefenseSettings {
  adversarial: { eps: number; steps: number; tau: number };
  cutout: { fraction: number };
  mixup: { alpha: number };
  cutmix: { alpha: number };
  jpeg: { quality: number };
  bdr: { bits: number };
  noise: { sigma: number };
}

/**
 * Every defence's settings by default: the defenses experiment's `defense` block (where adversarial training's
 * eps is the poison's unless set) and `advpoison train --defense`.
 */
export const DEFENSE_DEFAULTS: DefenseSettings = {
  adversarial: { eps: 8, steps: 5, tau: 0.5 },
  cutout: { fraction: 0.5 },
  mixup: { alpha: 1 },
  cutmix: { alpha: 1 },
  jpeg: { quality: 50 },
  bdr: { bits: 2 },
  noise: { sigma: 16 },
};

/** The settings a defence runs with, as results record them; null for those without any. */
export function defenseSettingsOf(name: DefenseName, s: DefenseSettings): object | null {
  switch (name) {
    case "none":
    case "grayscale":
      return null;
    case "jpeg10":
      return { quality: JPEG10_QUALITY };
    default:
      return s[name];
  }
}

/** The defence's settings in words, for tables. */
export function describeDefense(name: DefenseName, s: DefenseSettings): string {
  switch (name) {
    case "none":
      return "no defence";
    case "adversarial":
      return `PGD-${s.adversarial.steps} adversarial training, eps ${s.adversarial.eps}/255, step ${+(s.adversarial.tau * s.adversarial.eps).toFixed(2)}/255`;
    case "cutout":
      return `cutout, square of ${s.cutout.fraction} x the side`;
    case "mixup":
      return `mixup, alpha ${s.mixup.alpha}`;
    case "cutmix":
      return `cutmix, alpha ${s.cutmix.alpha}`;
    case "jpeg":
      return `JPEG re-encoding, quality ${s.jpeg.quality}`;
    case "jpeg10":
      return `JPEG re-encoding, quality ${JPEG10_QUALITY} (ISS's JPEG-10)`;
    case "bdr":
      return `bit-depth reduction to ${s.bdr.bits} bits (ISS)`;
    case "grayscale":
      return "grayscale";
    case "noise":
      return `Gaussian noise, sigma ${s.noise.sigma}/255, clipped`;
  }
}

/** The setting that `NAME:VALUE` sets, per defence that has one (jpeg:75 is JPEG at quality 75). */
const LEVERS = {
  adversarial: "eps",
  cutout: "fraction",
  mixup: "alpha",
  cutmix: "alpha",
  jpeg: "quality",
  bdr: "bits",
  noise: "sigma",
} as const satisfies { [K in keyof DefenseSettings]: keyof DefenseSettings[K] };

/** A defence with its settings, as a battery of defences lists it. */
export interface DefenseChoice {
  /** As written: `NAME` or `NAME:VALUE` (e.g. "jpeg:75"). */
  label: string;
  name: DefenseName;
  /** `base` with the VALUE put in the defence's lever. */
  settings: DefenseSettings;
}

/**
 * `NAME` (the defence at `base`'s settings) or `NAME:VALUE`, VALUE setting its lever: adversarial:EPS (grey
 * levels), jpeg:QUALITY, bdr:BITS, noise:SIGMA, cutout:FRACTION, mixup:ALPHA, cutmix:ALPHA. Throws one line for an
 * unknown name, a defence without a lever, or a value the defence refuses.
 */
export function parseDefense(text: string, base: DefenseSettings = DEFENSE_DEFAULTS): DefenseChoice {
  const [name = "", value, ...rest] = text.trim().split(":");
  if (!(DEFENSE_NAMES as readonly string[]).includes(name))
    throw new Error(`unknown defense '${text}' (${DEFENSE_NAMES.join(", ")}; NAME:VALUE sets ${leverList()})`);
  const n = name as DefenseName;
  if (value === undefined) return { label: n, name: n, settings: base };
  const lever = Object.hasOwn(LEVERS, n) ? LEVERS[n as keyof typeof LEVERS] : undefined;
  if (lever === undefined || rest.length > 0 || value.trim() === "")
    throw new Error(`defense '${text}': ${lever ? `expected ${n}:${lever.toUpperCase()}` : `${n} takes no value`}`);
  const key = n as keyof typeof LEVERS;
  const settings = { ...base, [key]: { ...base[key], [lever]: Number(value) } } as DefenseSettings;
  try {
    // Making the transform checks the value as training would, before any training starts.
    makeDefense(n, settings, { seed: 0, numClasses: 2 });
  } catch (e) {
    throw new Error(`defense '${text}': ${(e as Error).message}`);
  }
  return { label: `${n}:${+value}`, name: n, settings };
}

const leverList = () =>
  Object.entries(LEVERS)
    .map(([n, lever]) => `${n}:${lever.toUpperCase()}`)
    .join(", ");

/** Why `name` is not run on data with `channels` channels, or null. */
export function defenseSkipReason(name: DefenseName, channels: number): string | null {
  return name === "grayscale" ? grayscaleSkipReason(channels) : null;
}

/** The batch transform of a defence for a victim trained with `seed`; undefined for "none". */
export function makeDefense(
  name: DefenseName,
  s: DefenseSettings,
  o: { seed: number; numClasses: number },
): BatchTransform | undefined {
  const images = imageDefense(name, s);
  if (images) return ({ x }) => ({ x: images(x) });
  switch (name) {
    case "adversarial":
      return adversarialTraining(s.adversarial);
    case "cutout":
      return cutout(s.cutout, o.seed);
    case "mixup":
      return mixup(s.mixup, o.seed, o.numClasses);
    case "cutmix":
      return cutmix(s.cutmix, o.seed, o.numClasses);
    case "noise":
      return gaussianNoise(s.noise);
    default:
      // "none"; the image functions returned above.
      return undefined;
  }
}

/**
 * The defence as a function of the images alone, for those that are one (compressions and grayscale: the same
 * for every victim, seed and step), through which a release's perturbation can be measured; null for the others,
 * which depend on the model, the step or random draws.
 */
export function imageDefense(name: DefenseName, s: DefenseSettings): ((x: Tensor) => Tensor) | null {
  switch (name) {
    case "jpeg":
      return jpegImages(s.jpeg);
    case "jpeg10":
      return jpegImages({ quality: JPEG10_QUALITY });
    case "bdr":
      return posterize(s.bdr);
    case "grayscale":
      return toGrayscale;
    default:
      return null;
  }
}
