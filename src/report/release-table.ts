// The "Releases" table that every report with poisoned releases shows: one row per release.
import { formatPercent } from "./format.js";
import type { Cell } from "./types.js";

export interface ReleaseFacts {
  name: string;
  recipe: string;
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
  "recipe",
  "eps",
  "steps",
  "poisoned",
  "max L-inf",
  "mean L2",
  "attack success",
  "crafting (s)",
];

/** A row under RELEASE_COLUMNS; random noise has neither steps nor an attack to succeed. */
export function releaseRow(r: ReleaseFacts): Cell[] {
  const noise = r.recipe === "random";
  return [
    r.name,
    r.recipe,
    `${r.eps}/255`,
    noise ? null : r.steps,
    `${r.poisoned}/${r.count}`,
    r.maxLinf,
    Number(r.meanL2.toFixed(1)),
    noise ? null : formatPercent(r.attackSuccess, 1),
    Math.round(r.seconds),
  ];
}
