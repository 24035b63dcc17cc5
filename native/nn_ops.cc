// Neural-network ops: convolution, normalisation, activations, pooling, losses, resampling.
#include "tensor.h"

namespace advpoison {
namespace {

int64_t Reduction(const Napi::CallbackInfo& info, size_t i) {
  std::string r = IsMissing(info, i) ? "mean" : ArgString(info, i);
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  throw Napi::RangeError::New(info.Env(), "reduction must be 'mean', 'sum' or 'none', got '" + r + "'");
}

// conv2d(x, weight, bias?, stride[2], padding[2], dilation[2], groups)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::conv2d(ArgTensor(info, 0), ArgTensor(info, 1), ArgOptTensor(info, 2), ArgInts(info, 3), ArgInts(info, 4),
                                     ArgInts(info, 5), ArgInt(info, 6)));
}
// batchNorm(x, weight?, bias?, runningMean?, runningVar?, training, momentum, eps); running stats update in place.
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::batch_norm(ArgTensor(info, 0), ArgOptTensor(info, 1), ArgOptTensor(info, 2), ArgOptTensor(info, 3),
                                         ArgOptTensor(info, 4), ArgBool(info, 5), ArgDouble(info, 6), ArgDouble(info, 7), true));
}
Napi::Value Relu_(const Napi::CallbackInfo& info) {
  at::relu_(ArgTensor(info, 0));
  return info[0];
}
Napi::Value Linear(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::linear(ArgTensor(info, 0), ArgTensor(info, 1), ArgOptTensor(info, 2)));
}

// Activations: (a, ...) -> expr; one row each gives the function and its export.
#define ACTIVATION_OPS(X)                                                                      \
  X(Relu, relu, at::relu(a))                                                                   \
  X(Sigmoid, sigmoid, at::sigmoid(a))                                                          \
  X(Tanh, tanh, at::tanh(a))                                                                   \
  X(Gelu, gelu, at::gelu(a))                                                                   \
  X(Silu, silu, at::silu(a))                                                                   \
  X(Softplus, softplus, at::softplus(a, 1, 20))                                                \
  X(LeakyRelu, leakyRelu, at::leaky_relu(a, IsMissing(info, 1) ? at::Scalar(0.01) : ArgScalar(info, 1))) \
  X(Hardtanh, hardtanh, at::hardtanh(a, ArgScalar(info, 1), ArgScalar(info, 2)))               \
  X(Elu, elu, at::elu(a, IsMissing(info, 1) ? at::Scalar(1.0) : ArgScalar(info, 1)))            \
  X(Softmax, softmax, at::softmax(a, ArgInt(info, 1)))                                         \
  X(LogSoftmax, logSoftmax, at::log_softmax(a, ArgInt(info, 1)))

#define DEFINE_ACTIVATION(Name, js, expr)            \
  Napi::Value Name(const Napi::CallbackInfo& info) { \
    const at::Tensor& a = ArgTensor(info, 0);        \
    return Wrap(info.Env(), expr);                   \
  }
ACTIVATION_OPS(DEFINE_ACTIVATION)

// maxPool2d(x, kernel[2], stride[2], padding[2], dilation[2], ceilMode)
Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::max_pool2d(ArgTensor(info, 0), ArgInts(info, 1), ArgInts(info, 2), ArgInts(info, 3), ArgInts(info, 4),
                                         ArgBool(info, 5)));
}
// avgPool2d(x, kernel[2], stride[2], padding[2], ceilMode, countIncludePad)
Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::avg_pool2d(ArgTensor(info, 0), ArgInts(info, 1), ArgInts(info, 2), ArgInts(info, 3), ArgBool(info, 4),
                                         ArgBool(info, 5)));
}
Napi::Value AdaptiveAvgPool2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::adaptive_avg_pool2d(ArgTensor(info, 0), ArgInts(info, 1)));
}
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  double p = ArgDouble(info, 1);
  if (p < 0 || p > 1) throw Napi::RangeError::New(info.Env(), "dropout probability must be in [0, 1], got " + std::to_string(p));
  return Wrap(info.Env(), at::dropout(ArgTensor(info, 0), p, ArgBool(info, 2)));
}

// crossEntropy(logits, target, weight?, reduction, ignoreIndex, labelSmoothing); target: class indices or probabilities.
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::cross_entropy_loss(ArgTensor(info, 0), ArgTensor(info, 1), ArgOptTensor(info, 2), Reduction(info, 3),
                                                 IsMissing(info, 4) ? -100 : ArgInt(info, 4), IsMissing(info, 5) ? 0.0 : ArgDouble(info, 5)));
}
Napi::Value NllLoss(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::nll_loss(ArgTensor(info, 0), ArgTensor(info, 1), ArgOptTensor(info, 2), Reduction(info, 3),
                                       IsMissing(info, 4) ? -100 : ArgInt(info, 4)));
}
Napi::Value MseLoss(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::mse_loss(ArgTensor(info, 0), ArgTensor(info, 1), Reduction(info, 2)));
}

// affineGrid(theta[N,2,3], size[N,C,H,W], alignCorners)
Napi::Value AffineGrid(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::affine_grid_generator(ArgTensor(info, 0), ArgInts(info, 1), ArgBool(info, 2)));
}
// gridSample(x, grid, mode 'bilinear'|'nearest'|'bicubic', padding 'zeros'|'border'|'reflection', alignCorners)
Napi::Value GridSample(const Napi::CallbackInfo& info) {
  std::string mode = ArgString(info, 2), padding = ArgString(info, 3);
  int64_t m = mode == "bilinear" ? 0 : mode == "nearest" ? 1 : mode == "bicubic" ? 2 : -1;
  int64_t p = padding == "zeros" ? 0 : padding == "border" ? 1 : padding == "reflection" ? 2 : -1;
  if (m < 0) throw Napi::RangeError::New(info.Env(), "grid_sample mode must be bilinear, nearest or bicubic, got '" + mode + "'");
  if (p < 0) throw Napi::RangeError::New(info.Env(), "grid_sample padding must be zeros, border or reflection, got '" + padding + "'");
  return Wrap(info.Env(), at::grid_sampler(ArgTensor(info, 0), ArgTensor(info, 1), m, p, ArgBool(info, 4)));
}
// interpolate(x, size[2], mode 'bilinear'|'nearest'|'bicubic', alignCorners)
Napi::Value Interpolate(const Napi::CallbackInfo& info) {
  const at::Tensor& x = ArgTensor(info, 0);
  std::vector<int64_t> size = ArgInts(info, 1);
  std::string mode = ArgString(info, 2);
  if (size.size() != 2 || x.dim() != 4) throw Napi::RangeError::New(info.Env(), "interpolate needs 4-D input (N,C,H,W) and a size [H, W]");
  if (mode == "nearest") return Wrap(info.Env(), at::upsample_nearest2d(x, size));
  if (mode == "bilinear") return Wrap(info.Env(), at::upsample_bilinear2d(x, size, ArgBool(info, 3)));
  if (mode == "bicubic") return Wrap(info.Env(), at::upsample_bicubic2d(x, size, ArgBool(info, 3)));
  throw Napi::RangeError::New(info.Env(), "interpolate mode must be nearest, bilinear or bicubic, got '" + mode + "'");
}

}  // namespace

void RegisterNN(Napi::Env env, Napi::Object exports) {
  Export<Conv2d>(env, exports, "conv2d");
  Export<BatchNorm>(env, exports, "batchNorm");
  Export<Linear>(env, exports, "linear");
  Export<Relu_>(env, exports, "relu_");
  ACTIVATION_OPS(ADVPOISON_EXPORT)
  Export<MaxPool2d>(env, exports, "maxPool2d");
  Export<AvgPool2d>(env, exports, "avgPool2d");
  Export<AdaptiveAvgPool2d>(env, exports, "adaptiveAvgPool2d");
  Export<Dropout>(env, exports, "dropout");
  Export<CrossEntropy>(env, exports, "crossEntropy");
  Export<NllLoss>(env, exports, "nllLoss");
  Export<MseLoss>(env, exports, "mseLoss");
  Export<AffineGrid>(env, exports, "affineGrid");
  Export<GridSample>(env, exports, "gridSample");
  Export<Interpolate>(env, exports, "interpolate");
}

}  // namespace advpoison
