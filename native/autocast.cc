// Autocast (mixed precision) switches and the CUDA bf16 capability query. The facade (src/torch/autocast.ts)
// builds torch.autocast's nesting-safe region from these, as Python's autocast.__enter__/__exit__ do.
#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/DeviceGuard.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include "tensor.h"

// libtorch 2.4 replaced the per-device functions (set_cpu_enabled, set_autocast_gpu_dtype, ...) by ones that take
// a device type; the old ones are deprecated there and gone later.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define ADVPOISON_AUTOCAST_BY_DEVICE_TYPE 1
#endif

namespace advpoison {
namespace {

at::DeviceType AutocastDeviceType(const Napi::CallbackInfo& info, size_t i) {
  std::string name = ArgString(info, i);
  if (name == "cpu") return at::kCPU;
  if (name == "cuda") return at::kCUDA;
  throw Napi::RangeError::New(info.Env(), "autocast device type must be 'cpu' or 'cuda', got '" + name + "'");
}

bool IsEnabled(at::DeviceType type) {
#ifdef ADVPOISON_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(type);
#else
  return type == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

void SetEnabled(at::DeviceType type, bool on) {
#ifdef ADVPOISON_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(type, on);
#else
  if (type == at::kCPU) at::autocast::set_cpu_enabled(on);
  else at::autocast::set_enabled(on);
#endif
}

at::ScalarType GetDtype(at::DeviceType type) {
#ifdef ADVPOISON_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(type);
#else
  return type == at::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}

void SetDtype(at::DeviceType type, at::ScalarType dtype) {
#ifdef ADVPOISON_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_dtype(type, dtype);
#else
  if (type == at::kCPU) at::autocast::set_autocast_cpu_dtype(dtype);
  else at::autocast::set_autocast_gpu_dtype(dtype);
#endif
}

Napi::Value IsAutocastEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), IsEnabled(AutocastDeviceType(info, 0)));
}
Napi::Value SetAutocastEnabled(const Napi::CallbackInfo& info) {
  SetEnabled(AutocastDeviceType(info, 0), ArgBool(info, 1));
  return info.Env().Undefined();
}
Napi::Value GetAutocastDtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DtypeName(GetDtype(AutocastDeviceType(info, 0))));
}
Napi::Value SetAutocastDtype(const Napi::CallbackInfo& info) {
  SetDtype(AutocastDeviceType(info, 0), ParseDtype(ArgString(info, 1)));
  return info.Env().Undefined();
}
Napi::Value AutocastIncrementNesting(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::autocast::increment_nesting());
}
Napi::Value AutocastDecrementNesting(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::autocast::decrement_nesting());
}
// Casts of fp32 weights made inside a region are cached for its lifetime; the outermost region's end frees them.
Napi::Value ClearAutocastCache(const Napi::CallbackInfo& info) {
  at::autocast::clear_cache();
  return info.Env().Undefined();
}

// cudaBf16Supported(index): compute capability >= 8 (with cuDNN 8), through the CUDA hooks so that this file
// needs no CUDA headers; false on a CPU-only libtorch or without such a GPU.
Napi::Value CudaBf16Supported(const Napi::CallbackInfo& info) {
  int64_t index = ArgInt(info, 0);
  if (!torch::cuda::is_available() || index < 0 || index >= static_cast<int64_t>(torch::cuda::device_count())) {
    return Napi::Boolean::New(info.Env(), false);
  }
  c10::DeviceGuard guard(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index)));
  return Napi::Boolean::New(info.Env(), at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8());
}

}  // namespace

void RegisterAutocast(Napi::Env env, Napi::Object exports) {
  Export<IsAutocastEnabled>(env, exports, "isAutocastEnabled");
  Export<SetAutocastEnabled>(env, exports, "setAutocastEnabled");
  Export<GetAutocastDtype>(env, exports, "getAutocastDtype");
  Export<SetAutocastDtype>(env, exports, "setAutocastDtype");
  Export<AutocastIncrementNesting>(env, exports, "autocastIncrementNesting");
  Export<AutocastDecrementNesting>(env, exports, "autocastDecrementNesting");
  Export<ClearAutocastCache>(env, exports, "clearAutocastCache");
  Export<CudaBf16Supported>(env, exports, "cudaBf16Supported");
}

}  // namespace advpoison
