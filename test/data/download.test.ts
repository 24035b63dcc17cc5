import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gzipSync } from "node:zlib";
import { download, installResources } from "../../src/data/download.js";
import { DatasetError } from "../../src/data/errors.js";
import { loadSplit } from "../../src/data/registry.js";
import { readTar } from "../../src/data/tar.js";
import { urlUnder } from "../../src/util/fetch.js";
import { MARKER_FILE } from "../../src/util/ownership.js";
import { tarArchive, tempDir, writeCifar10Fixture } from "./fixtures.js";

// Only the loopback interface is ever contacted: a closed port for "offline", a local server otherwise.
const CLOSED = "http://127.0.0.1:9/";
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

let server: Server;
let base: string;
const served = new Map<string, Uint8Array>();

before(async () => {
  server = createServer((req, res) => {
    const body = served.get(req.url ?? "");
    res.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A loopback port that was just free: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

test("download fails fast and cleanly when the host cannot be reached", async () => {
  const root = tempDir();
  const dest = join(root, "cifar10");
  const refused = `http://127.0.0.1:${await closedPort()}/`;
  const start = performance.now();
  await assert.rejects(download("cifar10", { dataDir: dest, mirrors: [CLOSED, refused] }), (e: unknown) => {
    assert.ok(e instanceof DatasetError);
    assert.match(e.message, /could not download cifar-10-binary\.tar\.gz/);
    // fetch() refuses port 9 outright ("bad port"); the other port refuses the connection.
    assert.match(e.message, /http:\/\/127\.0\.0\.1:9\/cifar-10-binary\.tar\.gz: fetch failed: bad port/);
    assert.match(e.message, /127\.0\.0\.1:\d+\/cifar-10-binary\.tar\.gz: connection refused \(ECONNREFUSED\)/);
    assert.match(e.message, /offline/);
    return true;
  });
  assert.ok(performance.now() - start < 5000, "took more than 5 s");
  assert.deepEqual(readdirSync(root), [], "no destination and no temporary directory");
});

test("download unpacks a verified .tar.gz into place, readable as the dataset", async () => {
  const root = tempDir();
  const src = join(root, "src");
  writeCifar10Fixture(src, 2, 3);
  const files = Object.fromEntries(
    readdirSync(src).map((name) => [`cifar-10-batches-bin/${name}`, new Uint8Array(readFileSync(join(src, name)))]),
  );
  const archive = gzipSync(tarArchive({ ...files, "cifar-10-batches-bin/readme.html": Buffer.from("<p>") }));
  served.set("/c10.tgz", archive);
  const dest = join(root, "cifar10");
  const resource = {
    fileName: "c10.tgz",
    md5: md5(archive),
    urls: [`${CLOSED}c10.tgz`, `${base}/c10.tgz`],
    extractDir: "cifar-10-batches-bin",
  };
  const log: string[] = [];
  await installResources(dest, [resource], { log: (m) => log.push(m) });
  assert.equal(log.length, 3, "tried the dead mirror, reported it, then the live one");
  assert.deepEqual(
    readdirSync(dest).sort(),
    [...readdirSync(src), "readme.html", ".advpoison-download.json", MARKER_FILE].sort(),
  );
  for (const name of readdirSync(src)) assert.deepEqual(readFileSync(join(dest, name)), readFileSync(join(src, name)));
  assert.equal(loadSplit(`cifar10:${dest}`, "train").count, 6);
  assert.deepEqual(readdirSync(root).sort(), ["cifar10", "src"]);

  await assert.rejects(installResources(dest, [resource]), /already exists; pass --force/);
  await installResources(dest, [resource], { force: true });
  // --force replaces a download, never a user's own directory.
  const mine = join(root, "mine");
  mkdirSync(mine);
  writeFileSync(join(mine, "notes.txt"), "keep me");
  await assert.rejects(installResources(mine, [resource], { force: true }), /is not an advpoison output/);
  assert.equal(readFileSync(join(mine, "notes.txt"), "utf8"), "keep me");
});

test("download rejects a checksum mismatch and a 404, leaving nothing behind", async () => {
  const root = tempDir();
  const file = gzipSync(Buffer.from("not what was promised"));
  served.set("/f.gz", file);
  const dest = join(root, "mnist");
  await assert.rejects(
    installResources(dest, [{ fileName: "f.gz", md5: "0".repeat(32), urls: [`${base}/f.gz`] }]),
    new RegExp(`checksum mismatch \\(MD5 ${md5(file)}, expected 0{32}\\)`),
  );
  await assert.rejects(
    installResources(dest, [{ fileName: "g.gz", md5: md5(file), urls: [`${base}/missing.gz`] }]),
    /missing\.gz: HTTP 404/,
  );
  assert.equal(existsSync(dest), false);
  assert.deepEqual(readdirSync(root), []);
  await installResources(dest, [{ fileName: "f.gz", md5: md5(file), urls: [`${base}/f.gz`] }]);
  assert.deepEqual(readFileSync(join(dest, "f.gz")), Buffer.from(file));
});

test("tar reader: checks header checksums, refuses paths that escape the directory and file/folder clashes", () => {
  const archive = tarArchive({ "a/b.txt": Buffer.from("hello"), "a/c.bin": new Uint8Array(600).fill(7) });
  const entries = readTar(archive, "t");
  assert.deepEqual(
    entries.map((e) => [e.path, e.data.length]),
    [
      ["a/b.txt", 5],
      ["a/c.bin", 600],
    ],
  );
  const corrupt = archive.slice();
  corrupt[0] = "z".charCodeAt(0);
  assert.throws(() => readTar(corrupt, "t"), /header checksum mismatch/);
  assert.throws(
    () => readTar(tarArchive({ "../evil": Buffer.from("x") }), "t"),
    /unsafe path in tar archive: \.\.\/evil/,
  );
  assert.throws(() => readTar(archive.subarray(0, 700), "t"), /truncated tar archive/);
  const clash = tarArchive({ "a/b": Buffer.from("a file"), "a/b/c.bin": Buffer.from("in a folder of that name") });
  assert.throws(
    () => readTar(clash, "t"),
    /^DatasetError: t: corrupt tar archive: a\/b is both a file and the folder of a\/b\/c\.bin$/,
  );
});

test("a server that drips bytes meets the deadline; a compressed body is refused, never inflated", {
  timeout: 30_000,
}, async () => {
  const root = tempDir();
  const drip = createServer((_req, res) => {
    res.writeHead(200, { "content-length": "1000" });
    const timer = setInterval(() => res.write("x"), 100);
    res.on("close", () => clearInterval(timer));
  });
  // What a hostile or misconfigured server does: gzip encoding whatever the client asked for.
  const bomb = gzipSync(Buffer.alloc(10 << 20));
  const gzipping = createServer((_req, res) => res.writeHead(200, { "content-encoding": "gzip" }).end(bomb));
  const servers = [drip, gzipping];
  for (const s of servers) await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const url = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/f.gz`;
  try {
    const start = performance.now();
    await assert.rejects(
      installResources(join(root, "a"), [{ fileName: "f.gz", md5: "0".repeat(32), urls: [url(drip)] }], {
        deadlineMs: 1500,
      }),
      /could not download f\.gz \(.*not done after 1\.5 s in all\)/,
    );
    assert.ok(performance.now() - start < 5000, "the deadline did not hold");
    await assert.rejects(
      installResources(join(root, "b"), [{ fileName: "f.gz", md5: md5(bomb), urls: [url(gzipping)] }]),
      /the server compressed the file \(Content-Encoding: gzip\) though asked not to/,
    );
    assert.deepEqual(readdirSync(root), [], "nothing written");
  } finally {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }
});

test("a mirror's base URL is joined with a slash whether or not it ends with one", async () => {
  const root = tempDir();
  const file = gzipSync(Buffer.from("images"));
  served.set("/mirror/f.gz", file);
  for (const [i, m] of [`${base}/mirror`, `${base}/mirror/`].entries()) {
    const dest = join(root, String(i));
    await installResources(dest, [{ fileName: "f.gz", md5: md5(file), urls: [urlUnder(m, "f.gz")] }]);
    assert.deepEqual(readFileSync(join(dest, "f.gz")), Buffer.from(file));
  }
});
