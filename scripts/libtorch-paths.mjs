// Where libtorch lives and how it was built, for binding.gyp and scripts/build-native.mjs: Debian's libtorch-dev
// by default, or the tree named by $LIBTORCH, either an unpacked libtorch zip from pytorch.org (e.g. the CUDA
// build) or a PyTorch 2.x `torch` package directory (site-packages/torch of a pip wheel): both have the headers in
// DIR/include and the libraries in DIR/lib.
//
// Run as a script: `node scripts/libtorch-paths.mjs include|libs|defines|describe`.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const DEBIAN = {
  root: null,
  include: ["/usr/include", "/usr/include/torch/csrc/api/include"],
  libdir: "/usr/lib/x86_64-linux-gnu",
  cmake: "/usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake",
};

/** One line for the user: what is wrong and what to do. */
export class LibtorchError extends Error {}

function layout(root) {
  if (!root) return DEBIAN;
  const dir = resolve(root);
  const api = join(dir, "include", "torch", "csrc", "api", "include");
  const tried = "expected DIR/include/torch/csrc/api/include/torch/torch.h and DIR/lib/libc10.so";
  if (!existsSync(join(api, "torch", "torch.h")) || !existsSync(join(dir, "lib", "libc10.so"))) {
    const hint = existsSync(join(dir, "torch", "include")) ? ` (did you mean LIBTORCH=${join(dir, "torch")}?)` : "";
    throw new LibtorchError(
      `LIBTORCH=${root} is not a libtorch: ${tried} (an unpacked libtorch zip, or a PyTorch 2.x torch package ` +
        `directory: python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')${hint}`,
    );
  }
  return {
    root: dir,
    include: [join(dir, "include"), api],
    libdir: join(dir, "lib"),
    cmake: join(dir, "share", "cmake", "Torch", "TorchConfig.cmake"),
  };
}

function version(p) {
  const file = p.include.map((d) => join(d, "torch", "version.h")).find((f) => existsSync(f));
  if (!file) throw new LibtorchError(`no torch/version.h under ${p.include.join(" or ")}: is libtorch-dev installed?`);
  const text = readFileSync(file, "utf8");
  const part = (name) => new RegExp(`#define TORCH_VERSION_${name}\\s+(\\d+)`).exec(text)?.[1];
  const [major, minor, patch] = ["MAJOR", "MINOR", "PATCH"].map(part);
  if (major === undefined || minor === undefined) throw new LibtorchError(`${file} names no TORCH_VERSION_MAJOR/MINOR`);
  return `${major}.${minor}.${patch ?? 0}`;
}

/**
 * The libstdc++ ABI libtorch was built with (_GLIBCXX_USE_CXX11_ABI 0 or 1); the addon must match it, or linking
 * fails on every std::string in libtorch's API. From TorchConfig.cmake's TORCH_CXX_FLAGS where the tree has one,
 * else from libc10.so's symbols (the new ABI's std::string mangles as std::__cxx11::basic_string).
 */
function cxx11Abi(p) {
  if (existsSync(p.cmake)) {
    const m = /-D_GLIBCXX_USE_CXX11_ABI=([01])/.exec(readFileSync(p.cmake, "utf8"));
    if (m) return { abi: Number(m[1]), from: p.cmake };
  }
  const c10 = join(p.libdir, "libc10.so");
  if (!existsSync(c10)) throw new LibtorchError(`no ${c10}: is libtorch-dev installed?`);
  return { abi: readFileSync(c10).includes("__cxx11") ? 1 : 0, from: `${c10}'s symbols` };
}

function libs(libdir) {
  const names = ["torch", "torch_cpu", "c10"];
  // A CUDA libtorch registers its kernels from libtorch_cuda at load time; link it even though no symbol is used.
  for (const cuda of ["torch_cuda", "c10_cuda"]) {
    if (existsSync(join(libdir, `lib${cuda}.so`))) names.push(cuda);
  }
  return [
    `-L${libdir}`,
    `-Wl,-rpath,${libdir}`,
    "-Wl,--no-as-needed",
    ...names.map((n) => `-l${n}`),
    "-Wl,--as-needed",
  ];
}

/** Everything the build needs to know about the libtorch of $LIBTORCH (or Debian's); throws LibtorchError. */
export function libtorchInfo(root = process.env.LIBTORCH) {
  const p = layout(root);
  const { abi, from } = cxx11Abi(p);
  const cuda = existsSync(join(p.libdir, "libtorch_cuda.so"));
  return {
    ...p,
    version: version(p),
    abi,
    abiFrom: from,
    cuda,
    libs: libs(p.libdir),
    defines: [`_GLIBCXX_USE_CXX11_ABI=${abi}`],
    /** What build/Release/libtorch.txt records: a change of any of it rebuilds the addon. */
    stamp: `libtorch ${version(p)}${cuda ? " cuda" : ""} at ${p.root ?? "debian"} (${p.libdir}), _GLIBCXX_USE_CXX11_ABI=${abi}`,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const what = process.argv[2];
  try {
    const info = libtorchInfo();
    if (what === "include") console.log(info.include.join(" "));
    else if (what === "libs") console.log(info.libs.join(" "));
    else if (what === "defines") console.log(info.defines.join(" "));
    else if (what === "describe") console.log(`${info.stamp}; ABI from ${info.abiFrom}`);
    else throw new LibtorchError(`usage: libtorch-paths.mjs include|libs|defines|describe (got ${what})`);
  } catch (e) {
    if (!(e instanceof LibtorchError)) throw e;
    console.error(`advpoison: ${e.message}`);
    process.exit(1);
  }
}
