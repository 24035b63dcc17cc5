// Pretrained ImageNet weights for the ImageNet architectures, for `advpoison download NAME` on machines with a
// network. The sources are timm's `tv_in1k` files on the Hugging Face hub: torchvision's own ImageNet weights as
// safetensors under torchvision's names, which load into resnet18-imagenet/resnet50-imagenet unchanged.
// MobileNetV2 has no such file (timm's mobilenetv2_100 uses timm's own names), so mobilenet_v2-imagenet downloads
// only from a --url the user gives.
//
// No checksum is pinned here (none was taken from a trusted copy). The integrity check is instead: the sha256
// the hub sends for its LFS files (X-Linked-Etag on the resolve URL's redirect, ETag where it is a sha256)
// and/or one the user passes (--sha256); both, when given, must agree; with neither, nothing is written. The
// bytes must hash to it and be as long as announced, and must load strictly as the architecture (names and
// shapes) before the directory is committed; until then an existing output stays as it was.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { checkDestination, commitDirectory, makeTempBeside } from "../data/atomic.js";
import { decodeSafetensors } from "../torch/index.js";
import { DOWNLOAD_DEADLINE_MS, describeFetchError, fetchToFile, urlUnder } from "../util/fetch.js";
import { assertReplaceable, DOWNLOAD_FILE, writeMarker } from "../util/ownership.js";
import { saveModel } from "./file.js";
import { IMAGENET_SPEC } from "./imagenet.js";
import { createModel } from "./registry.js";

/** Where the official files live; a mirror (--mirror) replaces this prefix. */
export const HF_ENDPOINT = "https://huggingface.co/";

export interface WeightSource {
  /** The hub repository and the file in it (at `revision`). */
  readonly repo: string;
  readonly file: string;
  readonly revision: string;
  /** What the weights are, for `advpoison download`'s help and the record. */
  readonly description: string;
}

/** Architectures whose weights can be downloaded (all of them with --url; these also from the hub by default). */
export const WEIGHT_ARCHITECTURES = ["resnet18-imagenet", "resnet50-imagenet", "mobilenet_v2-imagenet"] as const;
export type WeightsName = (typeof WEIGHT_ARCHITECTURES)[number];

export const WEIGHT_SOURCES: Partial<Record<WeightsName, WeightSource>> = {
  "resnet18-imagenet": {
    repo: "timm/resnet18.tv_in1k",
    file: "model.safetensors",
    revision: "main",
    description: "torchvision's ResNet-18 ImageNet-1k weights (IMAGENET1K_V1), as timm publishes them",
  },
  "resnet50-imagenet": {
    repo: "timm/resnet50.tv_in1k",
    file: "model.safetensors",
    revision: "main",
    description: "torchvision's ResNet-50 ImageNet-1k weights (IMAGENET1K_V1), as timm publishes them",
  },
};

export function isWeightsName(name: string): name is WeightsName {
  return (WEIGHT_ARCHITECTURES as readonly string[]).includes(name);
}

/** The hub path of a source: REPO/resolve/REVISION/FILE (appended to HF_ENDPOINT or a mirror). */
export function sourcePath(s: WeightSource): string {
  return `${s.repo}/resolve/${s.revision}/${s.file}`;
}

export interface WeightsDownloadOptions {
  /** Destination directory; default $ADVPOISON_DATA/weights/NAME or ~/.cache/advpoison/weights/NAME. */
  out?: string;
  /** Replace an existing download. */
  force?: boolean;
  /** Endpoints to fetch the hub path from instead of https://huggingface.co/ (tried in order). */
  mirrors?: readonly string[];
  /** Fetch exactly this URL instead (any safetensors file under torchvision's names). */
  url?: string;
  /** The file's expected sha256 (hex); required when the server does not send one. */
  sha256?: string;
  /** Give up on a URL when no data arrives for this long; default 30 s. */
  stallTimeoutMs?: number;
  /** Give up on a URL when its file is not in after this long; default DOWNLOAD_DEADLINE_MS. */
  deadlineMs?: number;
  log?: (message: string) => void;
}

export interface DownloadedWeights {
  /** The directory now holding model.safetensors and the download record. */
  dir: string;
  /** dir/model.safetensors: the weights with advpoison's metadata (loadModel needs no flags). */
  file: string;
  /** The URL the verified bytes came from (before redirects). */
  url: string;
  /** sha256 of the downloaded bytes. */
  sha256: string;
  bytes: number;
  /** What the sha256 was checked against: the server's header, the user's --sha256, or both. */
  verifiedAgainst: ("server" | "user")[];
}

export function defaultWeightsDir(name: string): string {
  return join(process.env.ADVPOISON_DATA || join(homedir(), ".cache", "advpoison"), "weights", name);
}

const SHA256 = /^[0-9a-f]{64}$/;

/** A header value that is a sha256: quotes and a weak-validator prefix stripped, lower case; else undefined. */
function sha256Of(value: string | null): string | undefined {
  if (!value) return undefined;
  const v = value
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1")
    .toLowerCase();
  return SHA256.test(v) ? v : undefined;
}

/** What the server says of the file: its sha256 (X-Linked-Etag, else a sha256 ETag) and its size, on any hop. */
function announced(responses: readonly Response[]): { sha256?: string; size?: number } {
  const linked = responses.map((r) => sha256Of(r.headers.get("x-linked-etag"))).find(Boolean);
  const etag = responses.map((r) => sha256Of(r.headers.get("etag"))).find(Boolean);
  const final = responses.at(-1);
  const sizeText =
    responses.map((r) => r.headers.get("x-linked-size")).find((v) => v !== null) ??
    (final?.headers.get("content-encoding") ? null : final?.headers.get("content-length"));
  const size = sizeText != null && /^\d+$/.test(sizeText) ? Number(sizeText) : undefined;
  const sha256 = linked ?? etag;
  return { ...(sha256 ? { sha256 } : {}), ...(size !== undefined ? { size } : {}) };
}

/**
 * Downloads the pretrained weights of `name` into a new directory (model.safetensors with advpoison's metadata,
 * plus the record of what was fetched and verified) and returns what it did. Atomic: on any failure the
 * destination is as it was.
 */
export async function downloadWeights(name: string, options: WeightsDownloadOptions = {}): Promise<DownloadedWeights> {
  if (!isWeightsName(name)) {
    throw new Error(`no pretrained weights for '${name}'; downloadable: ${WEIGHT_ARCHITECTURES.join(", ")}`);
  }
  const source = WEIGHT_SOURCES[name];
  const urls = options.url
    ? [options.url]
    : source
      ? (options.mirrors?.length ? options.mirrors : [HF_ENDPOINT]).map((m) => urlUnder(m, sourcePath(source)))
      : undefined;
  if (!urls) {
    throw new Error(
      `no torchvision-named safetensors of ${name} is published (timm's mobilenetv2_100 files use timm's names); ` +
        "pass --url URL (and --sha256 HEX) of a safetensors file of torchvision's state dict",
    );
  }
  const userSha = options.sha256?.toLowerCase();
  if (userSha !== undefined && !SHA256.test(userSha))
    throw new Error(`--sha256 '${options.sha256}' is not 64 hex digits`);

  const dest = options.out ?? defaultWeightsDir(name);
  const force = options.force ?? false;
  checkDestination(dest, force);
  assertReplaceable(dest, "download");
  const tmp = makeTempBeside(dest);
  try {
    const part = join(tmp, "download.part");
    const got = await fetchVerified(urls, part, userSha, options);
    options.log?.(`verified ${got.bytes} bytes, sha256 ${got.sha256} (${got.verifiedAgainst.join(" and ")})`);
    const file = join(tmp, "model.safetensors");
    installAsModel(name, part, file, got);
    rmSync(part);
    const record = {
      tool: "advpoison",
      model: name,
      file: "model.safetensors",
      url: got.url,
      sha256: got.sha256,
      bytes: got.bytes,
      verified_against: got.verifiedAgainst,
      ...(source && !options.url ? { source: source.description, repo: source.repo, revision: source.revision } : {}),
    };
    writeFileSync(join(tmp, DOWNLOAD_FILE), `${JSON.stringify(record, null, 2)}\n`);
    writeMarker(tmp, "download");
    commitDirectory(tmp, dest, force);
    return { dir: dest, file: join(dest, "model.safetensors"), ...got };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

type Verified = Omit<DownloadedWeights, "dir" | "file">;

/** The first URL whose bytes arrive whole and hash to the expected sha256; every failure reported at the end. */
async function fetchVerified(
  urls: readonly string[],
  part: string,
  userSha: string | undefined,
  options: WeightsDownloadOptions,
): Promise<Verified> {
  const failures: string[] = [];
  for (const url of urls) {
    options.log?.(`downloading ${url}`);
    let expected: { sha256?: string; size?: number } = {};
    try {
      const { digests, bytes } = await fetchToFile(url, part, {
        stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
        deadlineMs: options.deadlineMs ?? DOWNLOAD_DEADLINE_MS,
        algorithms: ["sha256"],
        onHeaders: (hops, final) => {
          expected = announced([...hops, final]);
          if (!expected.sha256 && !userSha) {
            throw new Error("the server sent no sha256 (X-Linked-Etag) to verify against: pass --sha256 HEX");
          }
          if (expected.sha256 && userSha && expected.sha256 !== userSha) {
            throw new Error(`the server's sha256 ${expected.sha256} is not the --sha256 given (${userSha})`);
          }
        },
      });
      const sha256 = digests.sha256!;
      const want = userSha ?? expected.sha256!;
      if (expected.size !== undefined && bytes !== expected.size) {
        failures.push(`${url}: truncated or padded: ${bytes} bytes arrived, ${expected.size} announced`);
      } else if (sha256 !== want) {
        failures.push(`${url}: checksum mismatch (sha256 ${sha256}, expected ${want})`);
      } else {
        const verifiedAgainst: Verified["verifiedAgainst"] = [];
        if (expected.sha256) verifiedAgainst.push("server");
        if (userSha) verifiedAgainst.push("user");
        return { url, sha256, bytes, verifiedAgainst };
      }
    } catch (e) {
      failures.push(`${url}: ${describeFetchError(e)}`);
    }
    options.log?.(`failed: ${failures.at(-1)}`);
  }
  throw new Error(
    `could not download verified weights (${failures.join("; ")}); nothing was written. ` +
      "If this machine is offline, fetch the file elsewhere, check its sha256 and load it as " +
      "the architecture (--crafter FILE --crafter-model NAME; loadModel(FILE, { model: NAME })).",
  );
}

/** Loads the verified file strictly as `name` (names, shapes) and writes it with advpoison's metadata. */
function installAsModel(name: WeightsName, part: string, file: string, got: Verified): void {
  const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(part)), part);
  const model = createModel(name, IMAGENET_SPEC);
  try {
    try {
      model.loadStateDict(tensors);
    } catch (e) {
      throw new Error(`${got.url}: the file is not ${name}'s torchvision state dict: ${(e as Error).message}`);
    }
    saveModel(file, model, { model: name, ...IMAGENET_SPEC }, { source_url: got.url, source_sha256: got.sha256 });
  } finally {
    model.dispose();
    for (const t of tensors.values()) t.dispose();
  }
}
