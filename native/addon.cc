// Entry point of the libtorch binding: one handle class and plain functions over handles.
#include <torch/version.h>

#include "tensor.h"

namespace advpoison {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
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
  return exports;
}

}  // namespace advpoison

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return advpoison::Init(env, exports); }

NODE_API_MODULE(advpoison_torch, InitAddon)
