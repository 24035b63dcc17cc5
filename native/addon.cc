// Entry point of the libtorch binding: one handle class and plain functions over handles.
#include <torch/version.h>

#include <cstdlib>

#include "cpu_allocator.h"

#include "tensor.h"

namespace advpoison {

namespace {

Napi::Value EmptyCache(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(EmptyCpuCache())); }
Napi::Value CachedBytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(CachedCpuBytes())); }

// How much freed CPU tensor memory to keep for reuse: $ADVPOISON_CPU_CACHE_MB, default 4 GiB.
size_t CacheLimit() {
  const char* mb = std::getenv("ADVPOISON_CPU_CACHE_MB");
  return (mb != nullptr ? std::strtoull(mb, nullptr, 10) : 4096ull) << 20;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallCachingCpuAllocator(CacheLimit());
  auto* data = new AddonData();
  data->handle_ctor = Napi::Persistent(TensorHandle::Define(env));
  env.SetInstanceData(data);
  exports.Set("TensorHandle", data->handle_ctor.Value());
  exports.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  RegisterCreation(env, exports);
  RegisterMath(env, exports);
  RegisterShape(env, exports);
  RegisterNN(env, exports);
  RegisterAutograd(env, exports);
  RegisterAutocast(env, exports);
  Export<EmptyCache>(env, exports, "emptyCache");
  Export<CachedBytes>(env, exports, "cachedBytes");
  return exports;
}

}  // namespace advpoison

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return advpoison::Init(env, exports); }

NODE_API_MODULE(advpoison_torch, InitAddon)
