// Tensors in and out of JS memory, factories, seeded randomness, metadata and runtime settings.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <cstring>

#include "tensor.h"

namespace advpoison {
namespace {

at::TensorOptions Options(const Napi::CallbackInfo& info, size_t dtype_at, size_t device_at) {
  at::TensorOptions o = at::TensorOptions().dtype(IsMissing(info, dtype_at) ? at::kFloat : ParseDtype(ArgString(info, dtype_at)));
  if (!IsMissing(info, device_at)) o = o.device(ParseDevice(ArgString(info, device_at)));
  return o;
}

// fromBytes(bytes: Uint8Array, shape, dtype, device?) copies raw little-endian element data into a new tensor.
Napi::Value FromBytes(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "argument 0: expected a Uint8Array");
  Napi::TypedArray bytes = info[0].As<Napi::TypedArray>();
  auto shape = ArgInts(info, 1);
  at::ScalarType dtype = ParseDtype(ArgString(info, 2));
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Napi::RangeError::New(info.Env(), "negative dimension in shape");
    numel *= d;
  }
  size_t want = static_cast<size_t>(numel) * c10::elementSize(dtype);
  if (bytes.ByteLength() != want) {
    throw Napi::RangeError::New(info.Env(), "data has " + std::to_string(bytes.ByteLength()) + " bytes but shape and dtype need " +
                                                std::to_string(want));
  }
  const uint8_t* src = static_cast<const uint8_t*>(bytes.ArrayBuffer().Data()) + bytes.ByteOffset();
  if (dtype == at::kBool) {
    // Any other byte would be a bool that is neither true nor false to libtorch's kernels.
    for (size_t k = 0; k < want; ++k) {
      if (src[k] > 1) throw Napi::RangeError::New(info.Env(), "bool data must be 0 or 1, found " + std::to_string(src[k]) + " at " + std::to_string(k));
    }
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (want > 0) std::memcpy(t.data_ptr(), src, want);
  if (!IsMissing(info, 3)) t = t.to(ParseDevice(ArgString(info, 3)));
  return Wrap(info.Env(), t);
}

// toBytes(t) copies the tensor's elements (row-major, host order) into a fresh ArrayBuffer.
Napi::Value ToBytes(const Napi::CallbackInfo& info) {
  at::Tensor t = ArgTensor(info, 0).detach().to(at::kCPU).contiguous();
  size_t n = t.numel() * t.element_size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(info.Env(), n);
  if (n > 0) std::memcpy(buf.Data(), t.data_ptr(), n);
  return buf;
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  at::Tensor& t = ArgTensor(info, 0);
  if (t.numel() != 1) throw Napi::RangeError::New(info.Env(), "item() needs a tensor with one element, got " + std::to_string(t.numel()));
  if (t.scalar_type() == at::kBool) return Napi::Boolean::New(info.Env(), t.item<bool>());
  return Napi::Number::New(info.Env(), t.item<double>());
}

Napi::Value Zeros(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::zeros(ArgInts(info, 0), Options(info, 1, 2))); }
Napi::Value Ones(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::ones(ArgInts(info, 0), Options(info, 1, 2))); }
Napi::Value Empty(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::empty(ArgInts(info, 0), Options(info, 1, 2))); }
Napi::Value Full(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::full(ArgInts(info, 0), ArgScalar(info, 1), Options(info, 2, 3)));
}
Napi::Value Arange(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::arange(ArgScalar(info, 0), ArgScalar(info, 1), ArgScalar(info, 2), Options(info, 3, 4)));
}
Napi::Value Rand(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::rand(ArgInts(info, 0), Options(info, 1, 2))); }
Napi::Value Randn(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::randn(ArgInts(info, 0), Options(info, 1, 2))); }
Napi::Value Randint(const Napi::CallbackInfo& info) {
  at::TensorOptions o = at::TensorOptions().dtype(at::kLong);
  if (!IsMissing(info, 3)) o = o.device(ParseDevice(ArgString(info, 3)));
  return Wrap(info.Env(), at::randint(ArgInt(info, 0), ArgInt(info, 1), ArgInts(info, 2), o));
}
Napi::Value Randperm(const Napi::CallbackInfo& info) {
  at::TensorOptions o = at::TensorOptions().dtype(at::kLong);
  if (!IsMissing(info, 1)) o = o.device(ParseDevice(ArgString(info, 1)));
  return Wrap(info.Env(), at::randperm(ArgInt(info, 0), o));
}
Napi::Value Uniform_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).uniform_(ArgDouble(info, 1), ArgDouble(info, 2));
  return info[0];
}
Napi::Value Normal_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).normal_(ArgDouble(info, 1), ArgDouble(info, 2));
  return info[0];
}
Napi::Value Bernoulli_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).bernoulli_(ArgDouble(info, 1));
  return info[0];
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  torch::manual_seed(static_cast<uint64_t>(ArgInt(info, 0)));
  return info.Env().Undefined();
}
// getRngState() / setRngState(state): the CPU generator's state as a uint8 tensor, as torch.get_rng_state().
Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return Wrap(info.Env(), gen.get_state());
}
Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(ArgTensor(info, 0));
  return info.Env().Undefined();
}
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int64_t n = ArgInt(info, 0);
  if (n < 1) throw Napi::RangeError::New(info.Env(), "thread count must be >= 1");
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}
Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), at::get_num_threads()); }
Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), torch::cuda::is_available()); }

Napi::Value Shape(const Napi::CallbackInfo& info) {
  at::IntArrayRef s = ArgTensor(info, 0).sizes();
  Napi::Array out = Napi::Array::New(info.Env(), s.size());
  for (size_t i = 0; i < s.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(s[i])));
  return out;
}
Napi::Value Dtype(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), DtypeName(ArgTensor(info, 0).scalar_type())); }
Napi::Value Device(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), ArgTensor(info, 0).device().str()); }
Napi::Value Numel(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(ArgTensor(info, 0).numel())); }

// to(t, dtype?, device?, memoryFormat?): a copy only when something changes, as in PyTorch.
Napi::Value To(const Napi::CallbackInfo& info) {
  at::Tensor t = ArgTensor(info, 0);
  if (!IsMissing(info, 2)) t = t.to(ParseDevice(ArgString(info, 2)));
  if (!IsMissing(info, 1)) t = t.to(ParseDtype(ArgString(info, 1)));
  // As torch's to(memory_format=): restrides whenever the layout libtorch infers from the strides differs, even
  // where contiguous() would keep the tensor (a conv weight with one input channel is contiguous in both formats,
  // but only channels-last strides make oneDNN pick channels-last kernels).
  if (!IsMissing(info, 3)) t = t.to(t.options(), false, false, ParseMemoryFormat(ArgString(info, 3)));
  return Wrap(info.Env(), t);
}
Napi::Value Clone(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).clone()); }
// contiguous(t, memoryFormat?): the tensor itself when already laid out so, else a copy.
Napi::Value Contiguous(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  return Wrap(info.Env(), IsMissing(info, 1) ? t.contiguous() : t.contiguous(ParseMemoryFormat(ArgString(info, 1))));
}
Napi::Value IsContiguous(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  return Napi::Boolean::New(info.Env(), IsMissing(info, 1) ? t.is_contiguous() : t.is_contiguous(ParseMemoryFormat(ArgString(info, 1))));
}
Napi::Value Detach(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).detach()); }
Napi::Value Copy_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).copy_(ArgTensor(info, 1));
  return info[0];
}
Napi::Value Zero_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).zero_();
  return info[0];
}
Napi::Value Fill_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).fill_(ArgScalar(info, 1));
  return info[0];
}

}  // namespace

void RegisterCreation(Napi::Env env, Napi::Object exports) {
  Export<FromBytes>(env, exports, "fromBytes");
  Export<ToBytes>(env, exports, "toBytes");
  Export<Item>(env, exports, "item");
  Export<Zeros>(env, exports, "zeros");
  Export<Ones>(env, exports, "ones");
  Export<Empty>(env, exports, "empty");
  Export<Full>(env, exports, "full");
  Export<Arange>(env, exports, "arange");
  Export<Rand>(env, exports, "rand");
  Export<Randn>(env, exports, "randn");
  Export<Randint>(env, exports, "randint");
  Export<Randperm>(env, exports, "randperm");
  Export<Uniform_>(env, exports, "uniform_");
  Export<Normal_>(env, exports, "normal_");
  Export<Bernoulli_>(env, exports, "bernoulli_");
  Export<ManualSeed>(env, exports, "manualSeed");
  Export<GetRngState>(env, exports, "getRngState");
  Export<SetRngState>(env, exports, "setRngState");
  Export<SetNumThreads>(env, exports, "setNumThreads");
  Export<GetNumThreads>(env, exports, "getNumThreads");
  Export<CudaIsAvailable>(env, exports, "cudaIsAvailable");
  Export<Shape>(env, exports, "shape");
  Export<Dtype>(env, exports, "dtype");
  Export<Device>(env, exports, "device");
  Export<Numel>(env, exports, "numel");
  Export<To>(env, exports, "to");
  Export<Clone>(env, exports, "clone");
  Export<Contiguous>(env, exports, "contiguous");
  Export<IsContiguous>(env, exports, "isContiguous");
  Export<Detach>(env, exports, "detach");
  Export<Copy_>(env, exports, "copy_");
  Export<Zero_>(env, exports, "zero_");
  Export<Fill_>(env, exports, "fill_");
}

}  // namespace advpoison
