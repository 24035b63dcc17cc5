import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import { needs } from "../requirements.js";

// Compiled tests run from dist/test/torch; fixtures and scripts stay in the source tree.
const repo = (path: string): string => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const PYTHON = "/usr/bin/python3";

const work = mkdtempSync(join(tmpdir(), "advpoison-safetensors-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** One tensor of every dtype, holding edge values, plus an empty and a 0-d tensor. */
function everyDtype(): Map<string, torch.Tensor> {
  return new Map<string, torch.Tensor>([
    ["w.f32", torch.tensor(new Float32Array([1.5, -2.25, 3e-38, 3.4e38]), [2, 2])],
    ["w.f64", torch.tensor(new Float64Array([Math.PI, -Number.MIN_VALUE, Number.MAX_VALUE]))],
    ["half", torch.tensor(new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x0001]), [4], { dtype: "float16" })],
    ["brain", torch.tensor(new Uint16Array([0x3f80, 0xc000, 0x4049]), [3], { dtype: "bfloat16" })],
    ["steps", torch.tensor(new BigInt64Array([-(2n ** 63n), 2n ** 62n + 3n, 2n ** 63n - 1n]))],
    ["i32", torch.tensor(new Int32Array([-(2 ** 31), 2 ** 31 - 1]))],
    ["i16", torch.tensor(new Int16Array([-32768, 32767]))],
    ["i8", torch.tensor(new Int8Array([-128, 127]))],
    ["pixels", torch.tensor(new Uint8Array([0, 128, 255, 7, 8, 9]), [1, 2, 3])],
    ["mask", torch.tensor(new Uint8Array([1, 0, 1]), [3], { dtype: "bool" })],
    ["empty", torch.zeros([0, 4])],
    ["scalar", torch.scalar(-0.5, { dtype: "float64" })],
  ]);
}

function assertSameTensors(actual: Map<string, torch.Tensor>, expected: Map<string, torch.Tensor>): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, want] of expected) {
    const got = actual.get(name)!;
    assert.equal(got.dtype, want.dtype, name);
    assert.deepEqual(got.shape, want.shape, name);
    assert.deepEqual(got.toBytes(), want.toBytes(), name);
  }
}

/** A safetensors buffer with a hand-written header, for the validation tests. */
function craft(header: string | object, data: Uint8Array = new Uint8Array(0), claimedLength?: number): Uint8Array {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(claimedLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function headerOf(bytes: Uint8Array): { length: number; json: Record<string, unknown>; keys: string[] } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const json = JSON.parse(Buffer.from(bytes.subarray(8, 8 + length)).toString("utf8")) as Record<string, unknown>;
  return { length, json, keys: Object.keys(json) };
}

describe("safetensors", () => {
  test("loads the file written by scripts/fixtures/write_safetensors.py", () => {
    const { tensors, metadata } = torch.loadSafetensors(repo("test/fixtures/reference.safetensors"));
    assert.deepEqual(metadata, { format: "pt", writer: "write_safetensors.py" });
    const get = (name: string, dtype: torch.DType, shape: number[]): torch.Tensor => {
      const t = tensors.get(name);
      assert.ok(t, `missing ${name}`);
      assert.equal(t.dtype, dtype, name);
      assert.deepEqual(t.shape, shape, name);
      return t;
    };
    assert.deepEqual(get("f32", "float32", [2, 3]).toArray(), [-0.5, -0.25, 0, 0.25, 0.5, 0.75]);
    assert.deepEqual(get("f64", "float64", [3]).toArray(), [Math.PI, -1e-300, 1e300]);
    assert.deepEqual(get("f16", "float16", [5]).toArray(), [1, -2, 0.5, 65504, Infinity]);
    assert.deepEqual([...get("f16", "float16", [5]).toTypedArray()], [0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00]);
    assert.deepEqual(get("bf16", "bfloat16", [4]).toArray(), [1, -2, 0.5, 3.140625]);
    assert.deepEqual([...get("i64", "int64", [4]).toTypedArray()], [-(2n ** 63n), -1n, 2n ** 62n + 3n, 2n ** 63n - 1n]);
    assert.deepEqual(get("i32", "int32", [3]).toArray(), [-(2 ** 31), 0, 2 ** 31 - 1]);
    assert.deepEqual(get("i16", "int16", [3]).toArray(), [-32768, 7, 32767]);
    assert.deepEqual(get("i8", "int8", [3]).toArray(), [-128, 5, 127]);
    assert.deepEqual(get("u8", "uint8", [2, 2]).toArray(), [0, 1, 128, 255]);
    assert.deepEqual(get("bool", "bool", [3]).toArray(), [1, 0, 1]);
    assert.deepEqual(get("empty", "float32", [0, 3]).toArray(), []);
    assert.equal(get("scalar", "float64", []).item(), 7.5);
    assert.deepEqual(get("conv.weight", "float32", [2, 1, 2, 2]).toArray(), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(tensors.size, 13);
  });

  test("encode then decode gives back every dtype bit for bit, with metadata", () => {
    const original = everyDtype();
    const bytes = torch.encodeSafetensors(original, { epoch: "3", note: "ünïcode ✓" });
    const { tensors, metadata } = torch.decodeSafetensors(bytes);
    assertSameTensors(tensors, original);
    assert.deepEqual(metadata, { epoch: "3", note: "ünïcode ✓" });
  });

  test("the layout follows the reference writer: padded header, dtype rank then name, contiguous data", () => {
    const original = everyDtype();
    const bytes = torch.encodeSafetensors(original, { a: "b" });
    const { length, json, keys } = headerOf(bytes);
    assert.equal(length % 8, 0);
    assert.deepEqual(keys, [
      "__metadata__",
      "steps",
      "scalar",
      "w.f64",
      "empty",
      "w.f32",
      "i32",
      "brain",
      "half",
      "i16",
      "i8",
      "pixels",
      "mask",
    ]);
    let offset = 0;
    for (const key of keys.slice(1)) {
      const info = json[key] as { data_offsets: [number, number] };
      assert.equal(info.data_offsets[0], offset, key);
      offset = info.data_offsets[1];
    }
    assert.equal(8 + length + offset, bytes.length);
    assert.deepEqual(json.steps, { dtype: "I64", shape: [3], data_offsets: [0, 24] });
    // The order of insertion does not matter: the same tensors always give the same bytes.
    const reversed = new Map([...original.entries()].reverse());
    assert.deepEqual(torch.encodeSafetensors(reversed, { a: "b" }), bytes);
    assert.deepEqual(torch.encodeSafetensors(Object.fromEntries(original), { a: "b" }), bytes);
  });

  test("dataSha256Key records the sha256 of the data section as written, beside the other metadata", () => {
    const tensors = { b: torch.arange(6).to({ dtype: "float32" }), a: torch.arange(3).to({ dtype: "uint8" }) };
    const bytes = torch.encodeSafetensors(tensors, { x: "y" }, { dataSha256Key: "sum" });
    const { tensors: back, metadata } = torch.decodeSafetensors(bytes);
    assert.equal(metadata.sum, torch.dataSha256(bytes));
    assert.equal(metadata.x, "y");
    const changed = bytes.slice();
    changed[changed.length - 1]! ^= 1;
    assert.notEqual(torch.dataSha256(changed), metadata.sum);
    for (const t of [...Object.values(tensors), ...back.values()]) t.dispose();
  });

  test("a file without metadata loads with empty metadata", () => {
    const t = torch.arange(4);
    const bytes = torch.encodeSafetensors({ t });
    assert.deepEqual(headerOf(bytes).keys, ["t"]);
    const { tensors, metadata } = torch.decodeSafetensors(bytes);
    assert.deepEqual(metadata, {});
    assert.deepEqual(tensors.get("t")?.toArray(), [0, 1, 2, 3]);
  });

  test("non-contiguous tensors are written in row-major order", () => {
    const t = torch.arange(6, undefined, 1, { dtype: "float32" }).reshape(2, 3).transpose(0, 1);
    const back = torch.decodeSafetensors(torch.encodeSafetensors({ t })).tensors.get("t")!;
    assert.deepEqual(back.shape, [3, 2]);
    assert.deepEqual(back.toArray(), [0, 3, 1, 4, 2, 5]);
  });

  test("saveSafetensors writes atomically: the file is replaced whole and no temp file is left", () => {
    const path = join(work, "model.safetensors");
    torch.saveSafetensors(path, { a: torch.ones([2]) });
    torch.saveSafetensors(path, everyDtype(), { version: "2" });
    assert.deepEqual(readdirSync(work), ["model.safetensors"]);
    const { tensors, metadata } = torch.loadSafetensors(path);
    assertSameTensors(tensors, everyDtype());
    assert.deepEqual(metadata, { version: "2" });
  });

  test("a failed save leaves the old file and no temp file", () => {
    const path = join(work, "kept.safetensors");
    torch.saveSafetensors(path, { a: torch.ones([2]) });
    const gone = torch.ones([1]);
    gone.dispose();
    assert.throws(() => torch.saveSafetensors(path, { gone }), /disposed/);
    assert.throws(() => torch.saveSafetensors(join(work, "missing-dir", "x.safetensors"), {}), /ENOENT/);
    assert.deepEqual(
      readdirSync(work).filter((f) => f.endsWith(".tmp")),
      [],
    );
    assert.deepEqual(torch.loadSafetensors(path).tensors.get("a")?.toArray(), [1, 1]);
  });

  test("names and metadata that the format cannot hold are refused", () => {
    assert.throws(
      () => torch.encodeSafetensors({ __metadata__: torch.ones([1]) }),
      /'__metadata__' cannot name a tensor/,
    );
    assert.throws(
      () => torch.encodeSafetensors({}, { n: 3 } as unknown as Record<string, string>),
      /__metadata__ must map strings to strings/,
    );
  });

  const pythonTorch = existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import torch"]).status === 0;
  describe("python reads what we write", { skip: needs(pythonTorch, `python3-torch (${PYTHON} with torch)`) }, () => {
    test("scripts/fixtures/read_safetensors.py sees the same dtypes, shapes, values and metadata", () => {
      const path = join(work, "for-python.safetensors");
      const original = everyDtype();
      torch.saveSafetensors(path, original, { by: "advpoison" });
      const run = spawnSync(PYTHON, [repo("scripts/fixtures/read_safetensors.py"), path], { encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      const seen = JSON.parse(run.stdout) as {
        metadata: Record<string, string>;
        tensors: Record<string, { dtype: string; shape: number[]; values: (number | string | boolean)[] }>;
      };
      assert.deepEqual(seen.metadata, { by: "advpoison" });
      const formatName: Record<torch.DType, string> = {
        float32: "F32",
        float64: "F64",
        float16: "F16",
        bfloat16: "BF16",
        int64: "I64",
        int32: "I32",
        int16: "I16",
        int8: "I8",
        uint8: "U8",
        bool: "BOOL",
      };
      for (const [name, want] of original) {
        const got = seen.tensors[name];
        assert.ok(got, `python did not see ${name}`);
        assert.equal(got.dtype, formatName[want.dtype], name);
        assert.deepEqual(got.shape, want.shape, name);
        const expected =
          want.dtype === "int64"
            ? [...(want.toTypedArray() as BigInt64Array)].map(String)
            : want.dtype === "bool"
              ? want.toArray().map(Boolean)
              : want.toArray();
        const values = got.values.map((v) => (typeof v === "string" && want.dtype !== "int64" ? Number(v) : v));
        assert.deepEqual(values, expected, name);
      }
    });
  });

  describe("malformed files fail with an error naming the file and the problem", () => {
    const f32 = (n: number) => new Uint8Array(4 * n);
    const cases: [string, Uint8Array, RegExp][] = [
      ["too short", new Uint8Array(5), /5 bytes is too short/],
      ["header length beyond the file", craft({}, new Uint8Array(0), 4096), /header length 4096 exceeds the 2 bytes/],
      ["invalid JSON", craft('{"a": {"dtype": '), /header is not valid UTF-8 JSON/],
      ["a header that is not an object", craft("[1, 2]"), /header must be a JSON object/],
      [
        "unknown dtype",
        craft({ a: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
        /tensor 'a': unsupported dtype 'F8_E4M3'/,
      ],
      [
        "a missing dtype",
        craft({ a: { shape: [1], data_offsets: [0, 4] } }, f32(1)),
        /tensor 'a': dtype must be a string/,
      ],
      [
        "a negative dimension",
        craft({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, f32(1)),
        /tensor 'a': shape must be an array of non-negative integers/,
      ],
      [
        "malformed offsets",
        craft({ a: { dtype: "F32", shape: [1], data_offsets: [0] } }, f32(1)),
        /tensor 'a': data_offsets must be \[begin, end\]/,
      ],
      [
        "reversed offsets",
        craft({ a: { dtype: "F32", shape: [0], data_offsets: [4, 0] } }, f32(1)),
        /tensor 'a': data_offsets \[4, 0\] end before they begin/,
      ],
      [
        "shape and bytes that disagree",
        craft({ a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, f32(3)),
        /tensor 'a': shape \[2, 2\] of F32 needs 16 bytes, data_offsets span 12/,
      ],
      [
        "offsets past the end",
        craft({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, f32(1)),
        /tensor 'a': data_offsets \[0, 8\] run past the 4-byte data buffer/,
      ],
      [
        "overlapping tensors",
        craft(
          {
            a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
            b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
          },
          f32(3),
        ),
        /tensor 'b': data_offsets \[4, 12\] overlap tensor 'a'/,
      ],
      [
        "a gap between tensors",
        craft(
          {
            a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
            b: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
          },
          f32(3),
        ),
        /bytes \[4, 8\) between tensor 'a' and tensor 'b' are unused/,
      ],
      [
        "unused bytes at the start",
        craft({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, f32(2)),
        /bytes \[0, 4\) between the start of the data and tensor 'a' are unused/,
      ],
      [
        "unused bytes at the end",
        craft({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, f32(2)),
        /bytes \[4, 8\) after tensor 'a' are unused/,
      ],
      [
        "metadata that is not strings",
        craft({ __metadata__: { epoch: 3 } }),
        /__metadata__ must map strings to strings/,
      ],
      [
        "a BOOL byte that is not 0/1",
        craft({ m: { dtype: "BOOL", shape: [2], data_offsets: [0, 2] } }, new Uint8Array([1, 2])),
        /tensor 'm': BOOL data holds a byte other than 0\/1/,
      ],
    ];
    for (const [problem, bytes, message] of cases) {
      test(problem, () => {
        assert.throws(
          () => torch.decodeSafetensors(bytes, "bad.safetensors"),
          (e: Error) => {
            assert.match(e.message, /^safetensors file 'bad\.safetensors': /);
            assert.match(e.message, message);
            return true;
          },
        );
      });
    }

    test("loadSafetensors names the path it read", () => {
      const path = join(work, "broken.safetensors");
      writeFileSync(path, craft({ a: { dtype: "F32", shape: [3], data_offsets: [0, 4] } }, f32(1)));
      assert.throws(
        () => torch.loadSafetensors(path),
        new RegExp(`safetensors file '${path}': tensor 'a': shape \\[3\\]`),
      );
    });

    test("a header padded with spaces is accepted, as the spec allows", () => {
      const bytes = craft(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}     `, new Uint8Array([4, 5]));
      assert.deepEqual(torch.decodeSafetensors(bytes).tensors.get("a")?.toArray(), [4, 5]);
    });

    test("a view at an offset into a larger buffer decodes from its own first byte", () => {
      const bytes = readFileSync(repo("test/fixtures/reference.safetensors"));
      const shifted = new Uint8Array(bytes.length + 3);
      shifted.set(bytes, 3);
      const { tensors } = torch.decodeSafetensors(shifted.subarray(3));
      assert.equal(tensors.get("scalar")?.item(), 7.5);
    });
  });
});
