// The one native type: a JS handle owning an at::Tensor, plus the argument helpers every op file uses.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <optional>
#include <string>
#include <vector>

namespace advpoison {

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

  bool disposed() const { return !tensor_.defined(); }
  at::Tensor& tensor() { return tensor_; }
  void reset(Napi::Env env, at::Tensor t);
  void dispose(Napi::Env env);

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);

  at::Tensor tensor_;
  int64_t reported_bytes_ = 0;  // what this handle told V8 about, so dispose gives back exactly that
  napi_env env_ = nullptr;
};

// Process-wide state kept per Node environment (worker threads get their own).
struct AddonData {
  Napi::FunctionReference handle_ctor;
};

Napi::Object Wrap(Napi::Env env, at::Tensor t);
Napi::Value WrapOrUndefined(Napi::Env env, const at::Tensor& t);
Napi::Array WrapList(Napi::Env env, const std::vector<at::Tensor>& ts);

// Argument readers: each throws a JS TypeError naming the argument when it has the wrong kind.
at::Tensor& ArgTensor(const Napi::CallbackInfo& info, size_t i);
bool IsTensor(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Tensor> ArgOptTensor(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> ArgTensorList(const Napi::CallbackInfo& info, size_t i);
int64_t ArgInt(const Napi::CallbackInfo& info, size_t i);
double ArgDouble(const Napi::CallbackInfo& info, size_t i);
bool ArgBool(const Napi::CallbackInfo& info, size_t i);
std::string ArgString(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> ArgInts(const Napi::CallbackInfo& info, size_t i);
at::Scalar ArgScalar(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Scalar> ArgOptScalar(const Napi::CallbackInfo& info, size_t i);
bool IsMissing(const Napi::CallbackInfo& info, size_t i);

at::ScalarType ParseDtype(const std::string& name);
std::string DtypeName(at::ScalarType t);
at::Device ParseDevice(const std::string& name);
// "contiguous_format", "channels_last" or "preserve_format", as torch names them.
at::MemoryFormat ParseMemoryFormat(const std::string& name);

// Runs an op body and turns libtorch's exceptions into JS errors carrying libtorch's message.
// The op's name (the function's data) leads the message, so "conv2d: expected ..." says where it failed.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  const char* op = static_cast<const char*>(info.Data());
  try {
    return F(info);
  } catch (Napi::Error& e) {
    e.Set("message", Napi::String::New(info.Env(), std::string(op) + ": " + e.Message()));
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + e.what());
  }
}

void RegisterCreation(Napi::Env env, Napi::Object exports);
void RegisterMath(Napi::Env env, Napi::Object exports);
void RegisterShape(Napi::Env env, Napi::Object exports);
void RegisterNN(Napi::Env env, Napi::Object exports);
void RegisterAutograd(Napi::Env env, Napi::Object exports);
void RegisterAutocast(Napi::Env env, Napi::Object exports);

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
void Export(Napi::Env env, Napi::Object exports, const char* name) {
  // Names are string literals, so they outlive the function that carries them as data.
  exports.Set(name, Napi::Function::New<Guarded<F>>(env, name, const_cast<char*>(name)));
}

// The export of one row of an op table (a macro list of X(Name, js, ...) rows): Name's function as `js`.
#define ADVPOISON_EXPORT(Name, js, ...) Export<Name>(env, exports, #js);

}  // namespace advpoison
