#include "models/vae/layers.h"

#include <cmath>

#include "autograd/activation.h"
#include "autograd/basic.h"
#include "autograd/conv3d.h"
#include "autograd/group_norm.h"
#include "autograd/resample.h"

namespace cubist {

namespace {

// PyTorch's default for convolutions: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Tensor conv_weight(const Dims& shape, Generator& gen) {
  const int64_t fan_in = shape.numel() / shape[0];
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  Tensor t = Tensor::empty(shape);
  gen.uniform_(t, -bound, bound);
  return t;
}

}  // namespace

CausalConv3d::CausalConv3d(int64_t in, int64_t out, std::array<int64_t, 3> kernel,
                           std::array<int64_t, 3> stride, Generator& gen)
    : kernel_(kernel), stride_(stride) {
  CUBIST_CHECK(kernel[0] >= stride[0], "CausalConv3d: the time kernel (", kernel[0],
               ") must be at least the time stride (", stride[0], ")");
  weight_ = param("weight", conv_weight({out, in, kernel[0], kernel[1], kernel[2]}, gen));
  bias_ = param("bias", Tensor::zeros({out}), /*decay=*/false);
}

Var CausalConv3d::forward(const Var& x, CausalStream* stream) const {
  Conv3dParams p;
  p.stride = stride_;
  p.padding = {0, kernel_[1] / 2, kernel_[2] / 2};
  const int64_t kt = kernel_[0];
  if (!stream || kt == 1) {
    p.time_padding = TimePadding::kCausalReplicate;
    return conv3d(x, weight_, bias_, p);
  }
  // Streaming: prepend the frames kept from the previous chunk (or, on the first chunk, kt - 1
  // copies of the first frame, as the one-pass padding does), convolve without time padding,
  // and keep the frames that the next output's window will start from.
  std::vector<Var> parts;
  auto it = stream->frames.find(this);
  if (it == stream->frames.end()) {
    const Var first = slice(x, 2, 0, 1);
    for (int64_t i = 0; i + 1 < kt; ++i) parts.push_back(first);
  } else {
    parts.push_back(Var(it->second));
  }
  parts.push_back(x);
  const Var ctx = concat(parts, 2);
  p.time_padding = TimePadding::kSymmetric;
  const Var y = conv3d(ctx, weight_, bias_, p);
  const int64_t used = y.size(2) * stride_[0];  // the next window starts at this frame of ctx
  stream->frames[this] = ctx.value().slice(2, used, ctx.size(2)).contiguous();
  return y;
}

FrameGroupNorm::FrameGroupNorm(int64_t channels, int64_t groups) : groups_(groups) {
  weight_ = param("weight", Tensor::full({channels}, 1.0f), /*decay=*/false);
  bias_ = param("bias", Tensor::zeros({channels}), /*decay=*/false);
}

Var FrameGroupNorm::forward(const Var& x) const {
  CUBIST_CHECK(x.dim() == 5, "FrameGroupNorm: expects [B, C, T, H, W], got ", x.shape());
  const int64_t B = x.size(0), C = x.size(1), T = x.size(2), H = x.size(3), W = x.size(4);
  if (T == 1) return group_norm(x, groups_, weight_, bias_);  // one frame: already per frame
  // Frames into the batch: [B, C, T, H, W] -> [B*T, C, H, W], normalise, and back.
  const Var frames = reshape(permute(x, {0, 2, 1, 3, 4}), {B * T, C, H, W});
  const Var y = group_norm(frames, groups_, weight_, bias_);
  return permute(reshape(y, {B, T, C, H, W}), {0, 2, 1, 3, 4});
}

ResBlock::ResBlock(int64_t in, int64_t out, int64_t groups, Generator& gen)
    : norm1_(in, groups),
      conv1_(in, out, {3, 3, 3}, {1, 1, 1}, gen),
      norm2_(out, groups),
      conv2_(out, out, {3, 3, 3}, {1, 1, 1}, gen) {
  child("norm1", norm1_);
  child("conv1", conv1_);
  child("norm2", norm2_);
  child("conv2", conv2_);
  if (in != out) {
    skip_ = std::make_unique<CausalConv3d>(in, out, std::array<int64_t, 3>{1, 1, 1},
                                           std::array<int64_t, 3>{1, 1, 1}, gen);
    child("skip", *skip_);
  }
}

Var ResBlock::forward(const Var& x, CausalStream* stream) const {
  Var h = conv1_.forward(silu(norm1_.forward(x)), stream);
  h = conv2_.forward(silu(norm2_.forward(h)), stream);
  return add(skip_ ? skip_->forward(x, stream) : x, h);
}

Downsample::Downsample(int64_t channels, bool halve_time, bool halve_space, Generator& gen)
    : conv_(channels, channels, {3, 3, 3},
            {halve_time ? 2 : 1, halve_space ? 2 : 1, halve_space ? 2 : 1}, gen) {
  child("conv", conv_);
}

Var Downsample::forward(const Var& x, CausalStream* stream) const {
  return conv_.forward(x, stream);
}

Upsample::Upsample(int64_t in, int64_t out, bool double_time, bool double_space, Generator& gen)
    : double_time_(double_time),
      double_space_(double_space),
      conv_(in, out, {3, 3, 3}, {1, 1, 1}, gen) {
  child("conv", conv_);
}

Var Upsample::forward(const Var& x, CausalStream* stream) const {
  const int64_t T = x.size(2), H = x.size(3), W = x.size(4);
  const int64_t s = double_space_ ? 2 : 1;
  Var y = resize(x, {double_time_ ? 2 * T : T, s * H, s * W}, ResizeMode::kNearest);
  // Nearest x2 in time repeats every frame; the video's first frame stays single, so that
  // T latent frames become 1 + 2 (T - 1) (a still image stays one frame).
  const bool first = !stream || stream->first_chunk;
  if (double_time_ && first) y = slice(y, 2, 1, y.size(2));
  return conv_.forward(y, stream);
}

}  // namespace cubist
