// What `advpoison protect` writes beside the photos: the manifest (settings, per-photo summary, skipped files)
// and, while it runs, a journal of finished photos that a restarted run continues from.
import { createHash } from "node:crypto";
import { z } from "zod";
import { ADVERSARIAL_METHODS } from "../poison/methods/index.js";

export const PROTECT_KIND = "protected-photos";
export { PROTECT_JOURNAL } from "../util/ownership.js";

export const protectSettingsSchema = z.strictObject({
  method: z.enum(Object.keys(ADVERSARIAL_METHODS) as [keyof typeof ADVERSARIAL_METHODS]),
  eps: z.number(),
  steps: z.number().int(),
  step_size: z.number(),
  views: z.number().int(),
  input_side: z.number().int(),
  labels: z.enum(["folders", "predicted"]),
  jpeg_quality: z.number().int(),
  jpeg_margin: z.number(),
  seed: z.number().int(),
  precision: z.enum(["fp32", "bf16"]),
  crafters: z.array(z.strictObject({ model: z.string(), sha256: z.string() })),
  num_classes: z.number().int(),
});
export type ProtectSettings = z.infer<typeof protectSettingsSchema>;

/**
 * A photo's path inside both trees: relative, "/"-separated, no empty, "." or ".." part. A manifest is read from
 * a directory someone handed over: a path that climbs out must not make verify read files elsewhere.
 */
export const treePath = z
  .string()
  .refine(
    (p) => p !== "" && !p.includes("\0") && p.split("/").every((part) => part !== "" && part !== "." && part !== ".."),
    "not a relative path inside the tree",
  );

export const photoRecordSchema = z.strictObject({
  path: treePath,
  width: z.number().int(),
  height: z.number().int(),
  format: z.enum(["png", "jpeg", "webp"]),
  source_sha256: z.string(),
  sha256: z.string(),
  /** The label attacked: the class folder's index, or the crafter's prediction on the clean photo. */
  label: z.number().int(),
  target: z.number().int(),
  clean_pred: z.number().int(),
  /** The crafter's prediction on the written (decoded) photo through the evaluation resize. */
  pred: z.number().int(),
  fooled: z.boolean(),
  fooled_before_encoding: z.boolean(),
  linf: z.number(),
  psnr: z.number().nullable(),
  ssim: z.number(),
  kept: z.number(),
  jpeg_quality: z.number().int().optional(),
  seconds: z.number(),
});
export type PhotoRecord = z.infer<typeof photoRecordSchema>;

export const skippedSchema = z.strictObject({
  path: treePath,
  /** Why: one line, never empty. */
  error: z.string().min(1),
  /** The source's sha256 when it could be read: a resumed run tries the photo again once it has changed. */
  source_sha256: z.string().optional(),
});
export type SkippedPhoto = z.infer<typeof skippedSchema>;

export const journalLineSchema = z.union([
  z.strictObject({ settings_sha256: z.string() }),
  z.strictObject({ photo: photoRecordSchema }),
  z.strictObject({ skipped: skippedSchema }),
  // Written before a photo is started: a run that dies on it (killed, out of memory) leaves this without an outcome.
  z.strictObject({ attempt: z.strictObject({ path: treePath, source_sha256: z.string() }) }),
]);

export const protectSummarySchema = z.strictObject({
  count: z.number().int(),
  skipped: z.number().int(),
  max_linf: z.number(),
  same_sizes: z.boolean(),
  attack_success: z.number(),
  attack_success_before_encoding: z.number(),
  mean_psnr: z.number().nullable(),
  mean_ssim: z.number(),
  mean_kept: z.number(),
  seconds: z.number(),
});
export type ProtectSummary = z.infer<typeof protectSummarySchema>;

export const protectManifestSchema = z.strictObject({
  tool: z.literal("advpoison"),
  kind: z.literal(PROTECT_KIND),
  version: z.string(),
  source: z.string(),
  created: z.string(),
  settings: protectSettingsSchema,
  settings_sha256: z.string(),
  class_names: z.array(z.string()),
  summary: protectSummarySchema,
  photos: z.array(photoRecordSchema),
  skipped: z.array(skippedSchema),
  /** Files under the source that are not photos: not copied. */
  ignored: z.array(z.string()),
});
export type ProtectManifest = z.infer<typeof protectManifestSchema>;

export const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

/** The identity of a protection run: a restart continues only under the same settings and source. */
export const settingsDigest = (settings: ProtectSettings, source: string) =>
  sha256(JSON.stringify({ settings, source }));
