// Element-wise arithmetic, comparisons and reductions. A second operand may be a tensor or a JS number.
#include "tensor.h"

namespace advpoison {
namespace {

// The op tables: one line per op gives its JS name and body, and both the function and its export come from it
// (src/torch/ops.ts lists the same names for the types and the Tensor methods; test/torch/ops.test.ts checks).
// Unary ops: (a) -> op(a).
#define UNARY_OPS(X)                 \
  X(Neg, neg, a.neg())               \
  X(Abs, abs, a.abs())               \
  X(Sign, sign, a.sign())            \
  X(Sqrt, sqrt, a.sqrt())            \
  X(Rsqrt, rsqrt, a.rsqrt())         \
  X(Exp, exp, a.exp())               \
  X(Log, log, a.log())               \
  X(Floor, floor, a.floor())         \
  X(Ceil, ceil, a.ceil())            \
  X(Round, round, a.round())         \
  X(Reciprocal, reciprocal, a.reciprocal()) \
  X(LogicalNot, logicalNot, a.logical_not())

#define DEFINE_UNARY(Name, js, expr)                 \
  Napi::Value Name(const Napi::CallbackInfo& info) { \
    const at::Tensor& a = ArgTensor(info, 0);        \
    return Wrap(info.Env(), expr);                   \
  }
UNARY_OPS(DEFINE_UNARY)

// Operand ops: (a, b) with b a tensor or a number -> at::op(a, b).
#define OPERAND_OPS(X)        \
  X(Mul, mul)                 \
  X(Div, div)                 \
  X(Eq, eq)                   \
  X(Ne, ne)                   \
  X(Lt, lt)                   \
  X(Gt, gt)                   \
  X(Pow, pow)                 \
  X(Remainder, remainder)

#define DEFINE_OPERAND(Name, op)                                                   \
  Napi::Value Name(const Napi::CallbackInfo& info) {                               \
    const at::Tensor& a = ArgTensor(info, 0);                                      \
    if (IsTensor(info, 1)) return Wrap(info.Env(), at::op(a, ArgTensor(info, 1))); \
    return Wrap(info.Env(), at::op(a, ArgScalar(info, 1)));                        \
  }
OPERAND_OPS(DEFINE_OPERAND)

// Tensor-pair ops: (a, b) both tensors -> at::op(a, b).
#define TENSOR_PAIR_OPS(X) \
  X(Matmul, matmul)        \
  X(Maximum, maximum)      \
  X(Minimum, minimum)

#define DEFINE_TENSOR_PAIR(Name, op) \
  Napi::Value Name(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::op(ArgTensor(info, 0), ArgTensor(info, 1))); }
TENSOR_PAIR_OPS(DEFINE_TENSOR_PAIR)

Napi::Value Add(const Napi::CallbackInfo& info) {
  const at::Tensor& a = ArgTensor(info, 0);
  at::Scalar alpha = IsMissing(info, 2) ? at::Scalar(1) : ArgScalar(info, 2);
  if (IsTensor(info, 1)) return Wrap(info.Env(), at::add(a, ArgTensor(info, 1), alpha));
  return Wrap(info.Env(), at::add(a, ArgScalar(info, 1), alpha));
}
Napi::Value Sub(const Napi::CallbackInfo& info) {
  const at::Tensor& a = ArgTensor(info, 0);
  at::Scalar alpha = IsMissing(info, 2) ? at::Scalar(1) : ArgScalar(info, 2);
  if (IsTensor(info, 1)) return Wrap(info.Env(), at::sub(a, ArgTensor(info, 1), alpha));
  return Wrap(info.Env(), at::sub(a, ArgScalar(info, 1), alpha));
}

// In-place variants for optimisers and PGD: they return their first argument's handle.
Napi::Value Add_(const Napi::CallbackInfo& info) {
  at::Tensor& a = ArgTensor(info, 0);
  at::Scalar alpha = IsMissing(info, 2) ? at::Scalar(1) : ArgScalar(info, 2);
  if (IsTensor(info, 1)) a.add_(ArgTensor(info, 1), alpha);
  else a.add_(ArgScalar(info, 1), alpha);
  return info[0];
}
Napi::Value Mul_(const Napi::CallbackInfo& info) {
  at::Tensor& a = ArgTensor(info, 0);
  if (IsTensor(info, 1)) a.mul_(ArgTensor(info, 1));
  else a.mul_(ArgScalar(info, 1));
  return info[0];
}
Napi::Value Div_(const Napi::CallbackInfo& info) {
  at::Tensor& a = ArgTensor(info, 0);
  if (IsTensor(info, 1)) a.div_(ArgTensor(info, 1));
  else a.div_(ArgScalar(info, 1));
  return info[0];
}
Napi::Value Addcmul_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).addcmul_(ArgTensor(info, 1), ArgTensor(info, 2), ArgScalar(info, 3));
  return info[0];
}
Napi::Value Addcdiv_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).addcdiv_(ArgTensor(info, 1), ArgTensor(info, 2), ArgScalar(info, 3));
  return info[0];
}
Napi::Value Clamp_(const Napi::CallbackInfo& info) {
  at::Tensor& a = ArgTensor(info, 0);
  if (IsTensor(info, 1) || IsTensor(info, 2)) a.clamp_(ArgOptTensor(info, 1), ArgOptTensor(info, 2));
  else a.clamp_(ArgOptScalar(info, 1), ArgOptScalar(info, 2));
  return info[0];
}
Napi::Value Sign_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).sign_();
  return info[0];
}

// clamp(a, min?, max?) with number or tensor bounds (tensor bounds are what PGD's projection needs).
Napi::Value Clamp(const Napi::CallbackInfo& info) {
  const at::Tensor& a = ArgTensor(info, 0);
  if (IsTensor(info, 1) || IsTensor(info, 2)) return Wrap(info.Env(), at::clamp(a, ArgOptTensor(info, 1), ArgOptTensor(info, 2)));
  return Wrap(info.Env(), at::clamp(a, ArgOptScalar(info, 1), ArgOptScalar(info, 2)));
}

Napi::Value Where(const Napi::CallbackInfo& info) {
  const at::Tensor& cond = ArgTensor(info, 0);
  if (IsTensor(info, 1) && IsTensor(info, 2)) return Wrap(info.Env(), at::where(cond, ArgTensor(info, 1), ArgTensor(info, 2)));
  if (IsTensor(info, 1)) return Wrap(info.Env(), at::where(cond, ArgTensor(info, 1), ArgScalar(info, 2)));
  if (IsTensor(info, 2)) return Wrap(info.Env(), at::where(cond, ArgScalar(info, 1), ArgTensor(info, 2)));
  return Wrap(info.Env(), at::where(cond, ArgScalar(info, 1), ArgScalar(info, 2)));
}

// Reductions: (a, dims?: number[], keepdim?: boolean). No dims reduces everything.
std::vector<int64_t> OptDims(const Napi::CallbackInfo& info, size_t i) {
  return IsMissing(info, i) ? std::vector<int64_t>{} : ArgInts(info, i);
}
bool OptBool(const Napi::CallbackInfo& info, size_t i, bool fallback) { return IsMissing(info, i) ? fallback : ArgBool(info, i); }
// No dims means "all" (nullopt): libtorch 1.13 treats an empty dim list as all dims in the forward pass
// but not in var/std's backward, which then returns wrong gradients.
at::OptionalIntArrayRef DimsOrAll(const std::vector<int64_t>& dims) {
  return dims.empty() ? at::OptionalIntArrayRef() : at::OptionalIntArrayRef(dims);
}

Napi::Value Sum(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::sum(ArgTensor(info, 0), OptDims(info, 1), OptBool(info, 2, false)));
}
Napi::Value Mean(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::mean(ArgTensor(info, 0), OptDims(info, 1), OptBool(info, 2, false)));
}
Napi::Value Amax(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::amax(ArgTensor(info, 0), OptDims(info, 1), OptBool(info, 2, false)));
}
Napi::Value Amin(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::amin(ArgTensor(info, 0), OptDims(info, 1), OptBool(info, 2, false)));
}
Napi::Value Var(const Napi::CallbackInfo& info) {
  std::vector<int64_t> dims = OptDims(info, 1);
  return Wrap(info.Env(), at::var(ArgTensor(info, 0), DimsOrAll(dims), OptBool(info, 3, true), OptBool(info, 2, false)));
}
Napi::Value Std(const Napi::CallbackInfo& info) {
  std::vector<int64_t> dims = OptDims(info, 1);
  return Wrap(info.Env(), at::std(ArgTensor(info, 0), DimsOrAll(dims), OptBool(info, 3, true), OptBool(info, 2, false)));
}
// norm(a, p, dims?, keepdim?): the vector p-norm (p = Infinity for the max norm).
Napi::Value Norm(const Napi::CallbackInfo& info) {
  std::vector<int64_t> dims = OptDims(info, 2);
  return Wrap(info.Env(), at::linalg_vector_norm(ArgTensor(info, 0), ArgDouble(info, 1), DimsOrAll(dims), OptBool(info, 3, false)));
}
Napi::Value Argmax(const Napi::CallbackInfo& info) {
  c10::optional<int64_t> dim = IsMissing(info, 1) ? c10::nullopt : c10::optional<int64_t>(ArgInt(info, 1));
  return Wrap(info.Env(), at::argmax(ArgTensor(info, 0), dim, OptBool(info, 2, false)));
}
Napi::Value Argmin(const Napi::CallbackInfo& info) {
  c10::optional<int64_t> dim = IsMissing(info, 1) ? c10::nullopt : c10::optional<int64_t>(ArgInt(info, 1));
  return Wrap(info.Env(), at::argmin(ArgTensor(info, 0), dim, OptBool(info, 2, false)));
}
// topk(a, k, dim, largest, sorted) -> [values, indices]
Napi::Value Topk(const Napi::CallbackInfo& info) {
  auto [values, indices] = at::topk(ArgTensor(info, 0), ArgInt(info, 1), IsMissing(info, 2) ? -1 : ArgInt(info, 2),
                                    OptBool(info, 3, true), OptBool(info, 4, true));
  return WrapList(info.Env(), {values, indices});
}
// maxDim / minDim (a, dim, keepdim) -> [values, indices]
Napi::Value MaxDim(const Napi::CallbackInfo& info) {
  auto [values, indices] = at::max(ArgTensor(info, 0), ArgInt(info, 1), OptBool(info, 2, false));
  return WrapList(info.Env(), {values, indices});
}
Napi::Value MinDim(const Napi::CallbackInfo& info) {
  auto [values, indices] = at::min(ArgTensor(info, 0), ArgInt(info, 1), OptBool(info, 2, false));
  return WrapList(info.Env(), {values, indices});
}
Napi::Value Any(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).any()); }
Napi::Value All(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).all()); }
Napi::Value Equal(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), ArgTensor(info, 0).equal(ArgTensor(info, 1))); }
Napi::Value Allclose(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ArgTensor(info, 0).allclose(ArgTensor(info, 1), ArgDouble(info, 2), ArgDouble(info, 3)));
}
Napi::Value Bincount(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::bincount(ArgTensor(info, 0), c10::nullopt, IsMissing(info, 1) ? 0 : ArgInt(info, 1)));
}

}  // namespace

void RegisterMath(Napi::Env env, Napi::Object exports) {
  UNARY_OPS(ADVPOISON_EXPORT)
  OPERAND_OPS(ADVPOISON_EXPORT)
  TENSOR_PAIR_OPS(ADVPOISON_EXPORT)
  Export<Add>(env, exports, "add");
  Export<Sub>(env, exports, "sub");
  Export<Add_>(env, exports, "add_");
  Export<Mul_>(env, exports, "mul_");
  Export<Div_>(env, exports, "div_");
  Export<Addcmul_>(env, exports, "addcmul_");
  Export<Addcdiv_>(env, exports, "addcdiv_");
  Export<Clamp_>(env, exports, "clamp_");
  Export<Sign_>(env, exports, "sign_");
  Export<Clamp>(env, exports, "clamp");
  Export<Where>(env, exports, "where");
  Export<Sum>(env, exports, "sum");
  Export<Mean>(env, exports, "mean");
  Export<Amax>(env, exports, "amax");
  Export<Amin>(env, exports, "amin");
  Export<Var>(env, exports, "var");
  Export<Std>(env, exports, "std");
  Export<Norm>(env, exports, "norm");
  Export<Argmax>(env, exports, "argmax");
  Export<Argmin>(env, exports, "argmin");
  Export<Topk>(env, exports, "topk");
  Export<MaxDim>(env, exports, "maxDim");
  Export<MinDim>(env, exports, "minDim");
  Export<Any>(env, exports, "any");
  Export<All>(env, exports, "all");
  Export<Equal>(env, exports, "equal");
  Export<Allclose>(env, exports, "allclose");
  Export<Bincount>(env, exports, "bincount");
}

}  // namespace advpoison
