// Protecting a photo collection (secure dataset release for photos at their own size): see run.ts.
export { decodePhoto, encodePhoto, evalResize, formatOfPath, type PhotoFormat } from "./codec.js";
export {
  type PhotoRecord,
  PROTECT_KIND,
  type ProtectManifest,
  type ProtectSettings,
  type ProtectSummary,
} from "./manifest.js";
export { linf, meanSsim, psnr } from "./quality.js";
export { type ProtectOptions, type ProtectResult, protectTree } from "./run.js";
export { indexPhotoTree, PHOTO_EXTENSIONS, type Photo, type PhotoTree } from "./tree.js";
export { type ProtectedVerification, readProtectManifest, verifyProtected } from "./verify.js";
export { type Crop, centreCrop, cropView, randomCrop, views } from "./view.js";
