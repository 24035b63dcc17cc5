{
  "targets": [
    {
      "target_name": "advpoison_torch",
      "sources": [
        "native/addon.cc",
        "native/tensor.cc",
        "native/creation.cc",
        "native/math_ops.cc",
        "native/shape_ops.cc",
        "native/nn_ops.cc",
        "native/autograd.cc",
        "native/autocast.cc",
        "native/cpu_allocator.cc"
      ],
      "include_dirs": [
        "<!@(node -p \"require('node-addon-api').include\")",
        "<!@(node scripts/libtorch-paths.mjs include)"
      ],
      "libraries": ["<!@(node scripts/libtorch-paths.mjs libs)"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "<!@(node scripts/libtorch-paths.mjs defines)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"]
    }
  ]
}
