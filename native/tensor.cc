#include "tensor.h"

#include <unordered_map>

namespace advpoison {

namespace {

int64_t BytesOf(const at::Tensor& t) {
  return t.defined() ? static_cast<int64_t>(t.numel() * t.element_size()) : 0;
}

Napi::TypeError ArgError(const Napi::CallbackInfo& info, size_t i, const char* expected) {
  return Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected " + expected);
}

}  // namespace

Napi::Function TensorHandle::Define(Napi::Env env) {
  return DefineClass(env, "TensorHandle",
                     {InstanceMethod<&TensorHandle::Dispose>("dispose"),
                      InstanceAccessor<&TensorHandle::IsDisposed>("isDisposed")});
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info), env_(info.Env()) {}

TensorHandle::~TensorHandle() {
  // Finalizers run on the JS thread with the env alive, so V8 can be told the memory is gone.
  if (reported_bytes_ != 0 && env_ != nullptr) {
    int64_t ignored;
    napi_adjust_external_memory(env_, -reported_bytes_, &ignored);
  }
}

void TensorHandle::reset(Napi::Env env, at::Tensor t) {
  int64_t bytes = BytesOf(t);
  if (bytes != reported_bytes_) Napi::MemoryManagement::AdjustExternalMemory(env, bytes - reported_bytes_);
  reported_bytes_ = bytes;
  tensor_ = std::move(t);
}

void TensorHandle::dispose(Napi::Env env) { reset(env, at::Tensor()); }

Napi::Value TensorHandle::Dispose(const Napi::CallbackInfo& info) {
  dispose(info.Env());
  return info.Env().Undefined();
}

Napi::Value TensorHandle::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed());
}

Napi::Object Wrap(Napi::Env env, at::Tensor t) {
  Napi::Object obj = env.GetInstanceData<AddonData>()->handle_ctor.New({});
  TensorHandle::Unwrap(obj)->reset(env, std::move(t));
  return obj;
}

Napi::Value WrapOrUndefined(Napi::Env env, const at::Tensor& t) {
  return t.defined() ? Napi::Value(Wrap(env, t)) : env.Undefined();
}

Napi::Array WrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  Napi::Array out = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) out.Set(static_cast<uint32_t>(i), WrapOrUndefined(env, ts[i]));
  return out;
}

bool IsMissing(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() <= i || info[i].IsUndefined() || info[i].IsNull();
}

bool IsTensor(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsObject()) return false;
  return info[i].As<Napi::Object>().InstanceOf(info.Env().GetInstanceData<AddonData>()->handle_ctor.Value());
}

static at::Tensor& UnwrapLive(const Napi::CallbackInfo& info, size_t i, Napi::Value v) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(info.Env().GetInstanceData<AddonData>()->handle_ctor.Value())) {
    throw ArgError(info, i, "a tensor");
  }
  TensorHandle* h = TensorHandle::Unwrap(v.As<Napi::Object>());
  if (h->disposed()) {
    throw Napi::Error::New(info.Env(), "argument " + std::to_string(i) + ": tensor was disposed and cannot be used");
  }
  return h->tensor();
}

at::Tensor& ArgTensor(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i) throw ArgError(info, i, "a tensor");
  return UnwrapLive(info, i, info[i]);
}

c10::optional<at::Tensor> ArgOptTensor(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return c10::nullopt;
  return ArgTensor(info, i);
}

std::vector<at::Tensor> ArgTensorList(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsArray()) throw ArgError(info, i, "an array of tensors");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) out.push_back(UnwrapLive(info, i, a.Get(k)));
  return out;
}

int64_t ArgInt(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw ArgError(info, i, "an integer");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) throw ArgError(info, i, "an integer");
  return static_cast<int64_t>(d);
}

double ArgDouble(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw ArgError(info, i, "a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsBoolean()) throw ArgError(info, i, "a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsString()) throw ArgError(info, i, "a string");
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> ArgInts(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsArray()) throw ArgError(info, i, "an array of integers");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) throw ArgError(info, i, "an array of integers");
    double d = v.As<Napi::Number>().DoubleValue();
    if (d != static_cast<double>(static_cast<int64_t>(d))) throw ArgError(info, i, "an array of integers");
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

at::Scalar ArgScalar(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() > i && info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  if (info.Length() <= i || !info[i].IsNumber()) throw ArgError(info, i, "a number");
  double d = info[i].As<Napi::Number>().DoubleValue();
  // Whole numbers stay integral so that int tensors keep their dtype, as Python's `t * 2` does.
  if (std::abs(d) < 9007199254740992.0 && d == static_cast<double>(static_cast<int64_t>(d))) {
    return at::Scalar(static_cast<int64_t>(d));
  }
  return at::Scalar(d);
}

c10::optional<at::Scalar> ArgOptScalar(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return c10::nullopt;
  return ArgScalar(info, i);
}

static const std::unordered_map<std::string, at::ScalarType>& DtypeTable() {
  static const std::unordered_map<std::string, at::ScalarType> table = {
      {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
      {"int64", at::kLong},    {"int32", at::kInt},     {"int16", at::kShort},  {"int8", at::kChar},
      {"uint8", at::kByte},    {"bool", at::kBool},
  };
  return table;
}

at::ScalarType ParseDtype(const std::string& name) {
  auto it = DtypeTable().find(name);
  if (it == DtypeTable().end()) throw std::invalid_argument("unknown dtype '" + name + "'");
  return it->second;
}

std::string DtypeName(at::ScalarType t) {
  for (const auto& [name, type] : DtypeTable()) {
    if (type == t) return name;
  }
  return std::string("unsupported:") + c10::toString(t);
}

at::Device ParseDevice(const std::string& name) { return at::Device(name); }

at::MemoryFormat ParseMemoryFormat(const std::string& name) {
  if (name == "contiguous_format") return at::MemoryFormat::Contiguous;
  if (name == "channels_last") return at::MemoryFormat::ChannelsLast;
  if (name == "preserve_format") return at::MemoryFormat::Preserve;
  throw std::invalid_argument("unknown memory format '" + name + "' (contiguous_format, channels_last, preserve_format)");
}

}  // namespace advpoison
