// Shape, layout and indexing ops.
#include "tensor.h"

namespace advpoison {
namespace {

Napi::Value Cat(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::cat(ArgTensorList(info, 0), ArgInt(info, 1))); }
Napi::Value Stack(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::stack(ArgTensorList(info, 0), ArgInt(info, 1))); }
Napi::Value Reshape(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).reshape(ArgInts(info, 1))); }
Napi::Value View(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).view(ArgInts(info, 1))); }
Napi::Value Permute(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).permute(ArgInts(info, 1))); }
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), ArgTensor(info, 0).transpose(ArgInt(info, 1), ArgInt(info, 2)));
}
Napi::Value Expand(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).expand(ArgInts(info, 1))); }
Napi::Value Repeat(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).repeat(ArgInts(info, 1))); }
Napi::Value Flatten(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), ArgTensor(info, 0).flatten(IsMissing(info, 1) ? 0 : ArgInt(info, 1), IsMissing(info, 2) ? -1 : ArgInt(info, 2)));
}
Napi::Value Unsqueeze(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).unsqueeze(ArgInt(info, 1))); }
// slice(a, dim, start, end, step): Python's a[..., start:end:step] on one dim, a view.
Napi::Value Slice(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), ArgTensor(info, 0).slice(ArgInt(info, 1), ArgInt(info, 2), ArgInt(info, 3), IsMissing(info, 4) ? 1 : ArgInt(info, 4)));
}
Napi::Value Select(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).select(ArgInt(info, 1), ArgInt(info, 2))); }
Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::index_select(ArgTensor(info, 0), ArgInt(info, 1), ArgTensor(info, 2)));
}
Napi::Value Gather(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::gather(ArgTensor(info, 0), ArgInt(info, 1), ArgTensor(info, 2))); }
// scatter(a, dim, index, src | value)
Napi::Value Scatter(const Napi::CallbackInfo& info) {
  const at::Tensor& a = ArgTensor(info, 0);
  if (IsTensor(info, 3)) return Wrap(info.Env(), at::scatter(a, ArgInt(info, 1), ArgTensor(info, 2), ArgTensor(info, 3)));
  return Wrap(info.Env(), at::scatter(a, ArgInt(info, 1), ArgTensor(info, 2), ArgScalar(info, 3)));
}
// libtorch 1.13 accepts a non-bool mask and silently fills nothing; refuse it instead.
const at::Tensor& ArgMask(const Napi::CallbackInfo& info, size_t i) {
  const at::Tensor& mask = ArgTensor(info, i);
  if (mask.scalar_type() != at::kBool) {
    throw Napi::TypeError::New(info.Env(), "mask must be a bool tensor, got " + DtypeName(mask.scalar_type()));
  }
  return mask;
}

Napi::Value MaskedFill(const Napi::CallbackInfo& info) {
  const at::Tensor& a = ArgTensor(info, 0);
  if (IsTensor(info, 2)) return Wrap(info.Env(), at::masked_fill(a, ArgMask(info, 1), ArgTensor(info, 2)));
  return Wrap(info.Env(), at::masked_fill(a, ArgMask(info, 1), ArgScalar(info, 2)));
}
// indexPut_(a, index, values): a[index] = values along dim 0, in place.
Napi::Value IndexCopy_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).index_copy_(ArgInt(info, 1), ArgTensor(info, 2), ArgTensor(info, 3));
  return info[0];
}
Napi::Value Flip(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::flip(ArgTensor(info, 0), ArgInts(info, 1))); }
Napi::Value Roll(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::roll(ArgTensor(info, 0), ArgInts(info, 1), ArgInts(info, 2))); }
Napi::Value Split(const Napi::CallbackInfo& info) {
  return WrapList(info.Env(), at::split(ArgTensor(info, 0), ArgInt(info, 1), IsMissing(info, 2) ? 0 : ArgInt(info, 2)));
}
Napi::Value OneHot(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::one_hot(ArgTensor(info, 0), ArgInt(info, 1))); }

// pad(a, pads, mode, value): pads as in torch.nn.functional.pad (last dim first).
Napi::Value Pad(const Napi::CallbackInfo& info) {
  const at::Tensor& a = ArgTensor(info, 0);
  std::vector<int64_t> pads = ArgInts(info, 1);
  std::string mode = IsMissing(info, 2) ? "constant" : ArgString(info, 2);
  if (mode == "constant") return Wrap(info.Env(), at::constant_pad_nd(a, pads, IsMissing(info, 3) ? at::Scalar(0) : ArgScalar(info, 3)));
  bool spatial2d = pads.size() == 4 && (a.dim() == 3 || a.dim() == 4);
  bool spatial1d = pads.size() == 2 && (a.dim() == 2 || a.dim() == 3);
  if (!spatial1d && !spatial2d) {
    throw Napi::RangeError::New(info.Env(), "pad mode '" + mode + "' supports 2 pads on 2-D/3-D input or 4 pads on 3-D/4-D input");
  }
  if (mode == "reflect") return Wrap(info.Env(), spatial2d ? at::reflection_pad2d(a, pads) : at::reflection_pad1d(a, pads));
  if (mode == "replicate") return Wrap(info.Env(), spatial2d ? at::replication_pad2d(a, pads) : at::replication_pad1d(a, pads));
  if (mode == "circular") return Wrap(info.Env(), at::_pad_circular(a, pads));
  throw Napi::RangeError::New(info.Env(), "unknown pad mode '" + mode + "' (constant, reflect, replicate, circular)");
}

}  // namespace

void RegisterShape(Napi::Env env, Napi::Object exports) {
  Export<Cat>(env, exports, "cat");
  Export<Stack>(env, exports, "stack");
  Export<Reshape>(env, exports, "reshape");
  Export<View>(env, exports, "view");
  Export<Permute>(env, exports, "permute");
  Export<Transpose>(env, exports, "transpose");
  Export<Expand>(env, exports, "expand");
  Export<Repeat>(env, exports, "repeat");
  Export<Flatten>(env, exports, "flatten");
  Export<Unsqueeze>(env, exports, "unsqueeze");
  Export<Slice>(env, exports, "slice");
  Export<Select>(env, exports, "select");
  Export<IndexSelect>(env, exports, "indexSelect");
  Export<Gather>(env, exports, "gather");
  Export<Scatter>(env, exports, "scatter");
  Export<MaskedFill>(env, exports, "maskedFill");
  Export<IndexCopy_>(env, exports, "indexCopy_");
  Export<Flip>(env, exports, "flip");
  Export<Roll>(env, exports, "roll");
  Export<Split>(env, exports, "split");
  Export<OneHot>(env, exports, "oneHot");
  Export<Pad>(env, exports, "pad");
}

}  // namespace advpoison
