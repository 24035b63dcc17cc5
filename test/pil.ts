// Debian's python3-pil as an independent oracle for image decoding and resampling: a script reads bytes on
// stdin and writes raw pixels on stdout.
import { spawnSync } from "node:child_process";

/** Debian's python3-pil lives in the system python, not in a pyenv or venv one that may shadow it. */
export const PYTHON = "/usr/bin/python3";

/** Whether /usr/bin/python3 can import PIL. */
export const hasPil = spawnSync(PYTHON, ["-c", "import PIL"]).status === 0;

/** Runs a Python script with PIL imported as `Image` (and sys, io), `input` on stdin; its stdout's bytes. */
export function pil(script: string, input: Uint8Array): Uint8Array {
  const run = spawnSync(PYTHON, ["-c", `import sys, io\nfrom PIL import Image\n${script}`], {
    input,
    maxBuffer: 1 << 28,
  });
  if (run.status !== 0) throw new Error(`python3-pil script failed: ${run.stderr.toString()}`);
  return new Uint8Array(run.stdout.buffer, run.stdout.byteOffset, run.stdout.byteLength);
}

/** Largest and mean absolute difference of two equally long byte arrays. */
export function byteDifference(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}
