// The "Releases" table that every report with poisoned releases shows: one row per release.
import { type Manifest, methodOf, planMethod } from "../poison/index.js";
import { formatPercent } from "./format.js";
import type { Cell } from "./types.js";

export interface ReleaseFacts {
  name: string;
  method: string;
  /** Grey levels. */
  eps: number;
  steps: number;
  poisoned: number;
  count: number;
  maxLinf: number;
  meanL2: number;
  attackSuccess: number;
  seconds: number;
}

export const RELEASE_COLUMNS = [
  "release",
  "method",
  "eps",
  "steps",
  "poisoned",
  "max L-inf",
  "mean L2",
  "attack success",
  "crafting (s)",
];

/** A row under RELEASE_COLUMNS; a method that attacks no model (random noise, LSP) has no steps or success. */
export function releaseRow(r: ReleaseFacts): Cell[] {
  const noise = !methodOf(r.method).attacks;
  return [
    r.name,
    r.method,
    `${r.eps}/255`,
    noise ? null : r.steps,
    `${r.poisoned}/${r.count}`,
    r.maxLinf,
    Number(r.meanL2.toFixed(1)),
    noise ? null : formatPercent(r.attackSuccess, 1),
    Math.round(r.seconds),
  ];
}

/** The facts of a release as its manifest records them, under the name it is shown by. */
export function manifestFacts(name: string, m: Manifest): ReleaseFacts {
  return {
    name,
    method: planMethod(m.plan),
    eps: m.plan.eps,
    steps: m.plan.steps,
    poisoned: m.summary.poisoned,
    count: m.summary.count,
    maxLinf: m.summary.max_linf,
    meanL2: m.summary.mean_l2,
    attackSuccess: m.summary.attack_success,
    seconds: m.crafting_seconds,
  };
}
