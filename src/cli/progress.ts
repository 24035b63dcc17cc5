// Progress for people: bars on a terminal (cli-progress), plain periodic lines when output is a file or CI
// log, where redrawn bars would be noise.
import cliProgress from "cli-progress";
import type { Progress, ProgressFields, ProgressTask } from "../train/progress.js";

function formatFields(fields: ProgressFields): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${v}`)
    .join("  ");
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${s.toFixed(0)}s`;
}

/** A bar per task on a TTY (stderr), redrawn at most 5 times a second. */
class BarProgress implements Progress {
  start(label: string, total: number, unit: string): ProgressTask {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} {bar} {value}/{total} ${unit}  {fields}  eta {eta_formatted}`,
        stream: process.stderr,
        fps: 5,
        clearOnComplete: true,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { fields: "" });
    return {
      update: (done, fields = {}) => bar.update(done, { fields: formatFields(fields) }),
      finish: (summary) => {
        bar.stop();
        if (summary) console.error(summary);
      },
    };
  }
  log(message: string): void {
    console.error(message);
  }
}

/** Without a TTY: a line when a task starts, then every `everySeconds`, then its summary. */
class LineProgress implements Progress {
  constructor(private readonly everySeconds = 15) {}
  start(label: string, total: number, unit: string): ProgressTask {
    const t0 = performance.now();
    let last = t0;
    console.error(`${label}: ${total} ${unit}`);
    return {
      update: (done, fields = {}) => {
        const now = performance.now();
        if (now - last < this.everySeconds * 1000 || done >= total) return;
        last = now;
        const elapsed = (now - t0) / 1000;
        const eta = done > 0 ? (elapsed * (total - done)) / done : Number.NaN;
        console.error(`${label}: ${done}/${total} ${unit}  ${formatFields(fields)}  eta ${formatSeconds(eta)}`);
      },
      finish: (summary) =>
        console.error(summary ?? `${label}: done in ${formatSeconds((performance.now() - t0) / 1000)}`),
    };
  }
  log(message: string): void {
    console.error(message);
  }
}

/** Bars when stderr is a terminal (and not CI), plain lines otherwise. */
export function terminalProgress(): Progress {
  return process.stderr.isTTY && !process.env.CI ? new BarProgress() : new LineProgress();
}
