// Where libtorch lives, for binding.gyp: Debian's libtorch-dev by default, or the tree named by $LIBTORCH
// (an unpacked libtorch zip from pytorch.org, e.g. the CUDA build).
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = process.env.LIBTORCH;
const debian = {
  include: ["/usr/include", "/usr/include/torch/csrc/api/include"],
  libdir: "/usr/lib/x86_64-linux-gnu",
};

function paths() {
  if (!root) return debian;
  const include = [join(root, "include"), join(root, "include/torch/csrc/api/include")];
  if (!existsSync(join(include[1], "torch/torch.h"))) {
    throw new Error(`LIBTORCH=${root} does not look like a libtorch tree (no include/torch/csrc/api/include)`);
  }
  return { include, libdir: join(root, "lib") };
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

const p = paths();
const what = process.argv[2];
if (what === "include") console.log(p.include.join(" "));
else if (what === "libs") console.log(libs(p.libdir).join(" "));
else throw new Error(`usage: libtorch-paths.mjs include|libs (got ${what})`);
