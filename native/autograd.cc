// Autograd: leaf flags, .grad, backward, grad(outputs, inputs) and the grad-mode switch.
// at::GradMode: libtorch 1.13 pulls it in through autograd.h, 2.x no longer does.
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include "tensor.h"

namespace advpoison {
namespace {

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), ArgTensor(info, 0).requires_grad()); }
Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).requires_grad_(ArgBool(info, 1));
  return info[0];
}
Napi::Value Grad(const Napi::CallbackInfo& info) { return WrapOrUndefined(info.Env(), ArgTensor(info, 0).grad()); }
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).mutable_grad() = IsMissing(info, 1) ? at::Tensor() : ArgTensor(info, 1);
  return info.Env().Undefined();
}
// backward(t, gradient?, retainGraph?)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  at::Tensor& t = ArgTensor(info, 0);
  c10::optional<at::Tensor> g = ArgOptTensor(info, 1);
  t.backward(g.value_or(at::Tensor()), IsMissing(info, 2) ? c10::nullopt : c10::optional<bool>(ArgBool(info, 2)));
  return info.Env().Undefined();
}
// grad(outputs[], inputs[], gradOutputs?[], retainGraph?, createGraph?, allowUnused?) -> gradients of inputs only,
// leaving every .grad untouched (what PGD needs).
Napi::Value GradOf(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> outputs = ArgTensorList(info, 0), inputs = ArgTensorList(info, 1);
  std::vector<at::Tensor> grad_outputs = IsMissing(info, 2) ? std::vector<at::Tensor>{} : ArgTensorList(info, 2);
  c10::optional<bool> retain = IsMissing(info, 3) ? c10::nullopt : c10::optional<bool>(ArgBool(info, 3));
  bool create = IsMissing(info, 4) ? false : ArgBool(info, 4);
  bool allow_unused = IsMissing(info, 5) ? false : ArgBool(info, 5);
  return WrapList(info.Env(), torch::autograd::grad(outputs, inputs, grad_outputs, retain, create, allow_unused));
}
Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); }
Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  at::GradMode::set_enabled(ArgBool(info, 0));
  return info.Env().Undefined();
}

}  // namespace

void RegisterAutograd(Napi::Env env, Napi::Object exports) {
  Export<RequiresGrad>(env, exports, "requiresGrad");
  Export<SetRequiresGrad>(env, exports, "setRequiresGrad");
  Export<Grad>(env, exports, "grad");
  Export<SetGrad>(env, exports, "setGrad");
  Export<Backward>(env, exports, "backward");
  Export<GradOf>(env, exports, "gradOf");
  Export<IsGradEnabled>(env, exports, "isGradEnabled");
  Export<SetGradEnabled>(env, exports, "setGradEnabled");
}

}  // namespace advpoison
