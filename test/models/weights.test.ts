// `advpoison download NAME` for pretrained weights, against a loopback server that answers as the Hugging Face hub
// does (the resolve URL redirects to a CDN URL, the redirect carries X-Linked-Etag: the file's sha256, and
// X-Linked-Size), serving a seeded resnet18-imagenet state dict under torchvision's names: verified files land
// with advpoison's metadata and a record; a wrong checksum, a truncated body, a server without a sha256, a
// disagreeing --sha256 and a file of another architecture are refused, leaving an existing download untouched.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type OutgoingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createModel, downloadWeights, IMAGENET_SPEC, loadModel } from "../../src/models/index.js";
import { encodeSafetensors, manualSeed } from "../../src/torch/index.js";
import { DOWNLOAD_FILE, MARKER_FILE } from "../../src/util/ownership.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const HUB_PATH = "/timm/resnet18.tv_in1k/resolve/main/model.safetensors";

interface Route {
  body: Uint8Array;
  /** Headers of the resolve URL's redirect (the hub's), or of the direct answer without `redirect`. */
  headers?: OutgoingHttpHeaders;
  redirect?: boolean;
  /** Send only this many bytes of the body, then cut the connection. */
  cutAt?: number;
}

let server: Server;
let base = "";
const routes = new Map<string, Route>();
let root = "";
/** A seeded resnet18-imagenet state dict under torchvision's names, without our metadata (as timm's files). */
let good: Uint8Array;
/** The same without any num_batches_tracked (as torchvision's own pre-0.4.1 checkpoints). */
let counterless: Uint8Array;
let mobilenet: Uint8Array;

function hubHeaders(body: Uint8Array): OutgoingHttpHeaders {
  return { "x-linked-etag": `"${sha256(body)}"`, "x-linked-size": String(body.length), etag: `"${sha256(body)}"` };
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), "advpoison-weights-"));
  manualSeed(5);
  const model = createModel("resnet18-imagenet", IMAGENET_SPEC);
  good = encodeSafetensors(model.stateDict(), { format: "pt" });
  counterless = encodeSafetensors(new Map([...model.stateDict()].filter(([k]) => !k.endsWith("num_batches_tracked"))));
  model.dispose();
  const other = createModel("mobilenet_v2-imagenet", IMAGENET_SPEC);
  mobilenet = encodeSafetensors(other.stateDict());
  other.dispose();

  server = createServer((req, res) => {
    const [path = "", query] = (req.url ?? "").split("?");
    const cdn = path.startsWith("/cdn");
    const route = routes.get(cdn ? path.slice(4) : path);
    if (!route) return void res.writeHead(404).end();
    if (route.redirect && !cdn) {
      // As the hub: a relative redirect to the CDN with a signed query, the file's sha256 and size on the redirect.
      return void res.writeHead(302, { location: `/cdn${path}?sig=abc`, ...route.headers }).end();
    }
    assert.ok(!route.redirect || query === "sig=abc");
    // The CDN's own ETag is not a sha256 (an S3-style MD5): it must not be taken for one.
    const own = route.redirect
      ? { etag: `"${createHash("md5").update(route.body).digest("hex")}"` }
      : (route.headers ?? {});
    res.writeHead(200, { "content-length": String(route.body.length), ...own });
    if (route.cutAt === undefined) return void res.end(route.body);
    res.write(route.body.subarray(0, route.cutAt), () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(root, { recursive: true, force: true });
});

/** The hub route serves `r`; returns the mirror base under which HUB_PATH resolves. */
function serveHub(r: Route): string {
  routes.set(HUB_PATH, r);
  return base;
}

test("a verified download: sha256 from the hub's X-Linked-Etag, loaded strictly, written with metadata and record", async () => {
  const mirror = serveHub({ body: good, headers: hubHeaders(good), redirect: true });
  const out = join(root, "r18");
  const log: string[] = [];
  const got = await downloadWeights("resnet18-imagenet", { out, mirrors: [mirror], log: (m) => log.push(m) });
  assert.equal(got.sha256, sha256(good));
  assert.equal(got.bytes, good.length);
  assert.deepEqual(got.verifiedAgainst, ["server"]);
  assert.equal(got.url, `${base}${HUB_PATH.slice(1)}`);
  assert.deepEqual(readdirSync(out).sort(), [DOWNLOAD_FILE, MARKER_FILE, "model.safetensors"].sort());
  const record = JSON.parse(readFileSync(join(out, DOWNLOAD_FILE), "utf8"));
  assert.equal(record.tool, "advpoison");
  assert.equal(record.sha256, sha256(good));
  assert.equal(record.repo, "timm/resnet18.tv_in1k");
  assert.deepEqual(record.verified_against, ["server"]);
  // No flags needed to load it; the tensors are the served ones.
  const loaded = loadModel(got.file);
  try {
    assert.deepEqual(loaded.info, { model: "resnet18-imagenet", ...IMAGENET_SPEC });
    assert.equal(loaded.metadata.source_sha256, sha256(good));
    assert.equal(loaded.metadata.source_url, got.url);
    manualSeed(5);
    const again = createModel("resnet18-imagenet", IMAGENET_SPEC);
    for (const [k, t] of again.stateDict())
      assert.deepEqual(loaded.model.stateDict().get(k)!.toBytes(), t.toBytes(), k);
    again.dispose();
  } finally {
    loaded.model.dispose();
  }
  assert.ok(log.some((m) => m.includes("verified")));
  await assert.rejects(
    downloadWeights("resnet18-imagenet", { out, mirrors: [mirror] }),
    /already exists; pass --force/,
  );
});

test("refusals leave an existing download as it was and no temporary files", async () => {
  const out = join(root, "kept");
  await downloadWeights("resnet18-imagenet", {
    out,
    mirrors: [serveHub({ body: good, headers: hubHeaders(good), redirect: true })],
  });
  const before = readFileSync(join(out, "model.safetensors"));
  const entries = readdirSync(root).sort();
  const attempt = (r: Route, extra: { sha256?: string } = {}) =>
    downloadWeights("resnet18-imagenet", { out, force: true, mirrors: [serveHub(r)], ...extra });
  const wrong = new Uint8Array(good);
  wrong[good.length - 1]! ^= 1;

  // A wrong checksum: the bytes are not the ones the hub's sha256 names.
  await assert.rejects(
    attempt({ body: wrong, headers: hubHeaders(good), redirect: true }),
    new RegExp(`checksum mismatch \\(sha256 ${sha256(wrong)}, expected ${sha256(good)}\\)`),
  );
  // A truncated body: the connection is cut half-way (Content-Length says more).
  await assert.rejects(
    attempt({ body: good, headers: hubHeaders(good), redirect: true, cutAt: good.length >> 1 }),
    /could not download verified weights \(http:\/\/127\.0\.0\.1:\d+\/timm\/resnet18\.tv_in1k\/resolve\/main\/model\.safetensors: the transfer broke off after \d+ bytes: /,
  );
  // A shorter file than the hub announced, whole as far as HTTP goes.
  const half = good.subarray(0, good.length >> 1);
  await assert.rejects(
    attempt({ body: half, headers: { ...hubHeaders(good) }, redirect: true }),
    new RegExp(`truncated or padded: ${half.length} bytes arrived, ${good.length} announced`),
  );
  // No sha256 from the server and none given: nothing to verify against.
  await assert.rejects(
    attempt({ body: good }),
    /the server sent no sha256 \(X-Linked-Etag\) to verify against: pass --sha256 HEX/,
  );
  // A --sha256 that disagrees with the server's.
  await assert.rejects(
    attempt({ body: good, headers: hubHeaders(good), redirect: true }, { sha256: "ab".repeat(32) }),
    new RegExp(`the server's sha256 ${sha256(good)} is not the --sha256 given \\(${"ab".repeat(32)}\\)`),
  );
  // The right bytes of the wrong architecture: verified, but they do not load as resnet18-imagenet.
  await assert.rejects(
    attempt({ body: mobilenet, headers: hubHeaders(mobilenet), redirect: true }),
    /the file is not resnet18-imagenet's torchvision state dict: loadStateDict: missing keys: conv1\.weight, bn1\.weight/,
  );
  // A malformed --sha256 is refused before anything is fetched.
  await assert.rejects(attempt({ body: good }, { sha256: "xyz" }), /--sha256 'xyz' is not 64 hex digits/);

  assert.deepEqual(readFileSync(join(out, "model.safetensors")), before);
  assert.deepEqual(readdirSync(root).sort(), entries, "no temporary directory left beside the output");
});

test("--sha256 alone verifies a server that sends none; a file without num_batches_tracked loads", async () => {
  const out = join(root, "user-sha");
  routes.set("/plain/model.safetensors", { body: counterless });
  const got = await downloadWeights("resnet18-imagenet", {
    out,
    url: `${base}plain/model.safetensors`,
    sha256: sha256(counterless).toUpperCase(),
  });
  assert.deepEqual(got.verifiedAgainst, ["user"]);
  const loaded = loadModel(got.file);
  assert.equal(loaded.model.stateDict().get("bn1.num_batches_tracked")!.item(), 0);
  loaded.model.dispose();
  const record = JSON.parse(readFileSync(join(out, DOWNLOAD_FILE), "utf8"));
  assert.equal(record.repo, undefined, "a --url download names no hub repository");
});

test("mobilenet_v2-imagenet has no torchvision-named file on the hub: only --url", async () => {
  await assert.rejects(
    downloadWeights("mobilenet_v2-imagenet", { out: join(root, "mnv2") }),
    /no torchvision-named safetensors of mobilenet_v2-imagenet is published .* pass --url URL \(and --sha256 HEX\)/,
  );
  await assert.rejects(downloadWeights("resnet34", { out: join(root, "r34") }), /no pretrained weights for 'resnet34'/);
  assert.equal(existsSync(join(root, "mnv2")), false);
});

test("advpoison download resnet18-imagenet --mirror --out --json", async () => {
  const mirror = serveHub({ body: good, headers: hubHeaders(good), redirect: true });
  const out = join(root, "cli");
  const cli = join(process.cwd(), "dist/src/cli/main.js");
  // Asynchronously: the server answering it runs in this process.
  const child = spawn(process.execPath, [
    cli,
    "download",
    "resnet18-imagenet",
    "--mirror",
    mirror,
    "--out",
    out,
    "--json",
  ]);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout.trim().split("\n").pop()!);
  assert.equal(result.sha256, sha256(good));
  assert.equal(result.file, join(out, "model.safetensors"));
  assert.match(stdout, /verified against the server's X-Linked-Etag/);
  assert.match(
    stderr,
    /downloading http:\/\/127\.0\.0\.1:\d+\/timm\/resnet18\.tv_in1k\/resolve\/main\/model\.safetensors/,
  );
});
