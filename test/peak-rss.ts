// A child process's peak resident memory, as the kernel counts it: preload PEAK_RSS_HOOK (node --import) and the
// child writes its process.resourceUsage().maxRSS (KiB) to $PEAK_RSS_FILE when it exits.
import { readFileSync } from "node:fs";

export const PEAK_RSS_HOOK = `data:text/javascript,${encodeURIComponent(
  'import { writeFileSync } from "node:fs"; process.on("exit", () => writeFileSync(process.env.PEAK_RSS_FILE, String(process.resourceUsage().maxRSS)));',
)}`;

/** The peak RSS in bytes that a child started with PEAK_RSS_HOOK wrote to `file`. */
export const peakRssBytes = (file: string): number => Number(readFileSync(file, "utf8")) * 1024;
