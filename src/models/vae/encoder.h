// The causal 3-D encoder (pixels -> the moments of the latent's Gaussian posterior):
//
//   x [B, 3, T, H, W] in [-1, 1]
//   conv_in (3x3x3)                                   -> channels * mult[0]
//   for each level l:  blocks_per_level x ResBlock    -> channels * mult[l]
//                      Downsample between levels (space /2 for the first log2(spatial_factor)
//                      transitions, time T -> 1 + (T-1)/2 for those in temporal_downsample)
//   mid_blocks x ResBlock
//   FrameGroupNorm, SiLU, conv_out (3x3x3)            -> 2 * latent_channels: mean, log-variance
//
// Parameter names: conv_in.*, down.<l>.blocks.<j>.*, down.<l>.downsample.conv.*, mid.<j>.*,
// norm_out.*, conv_out.* (under "encoder." in a Vae).
#pragma once

#include <memory>
#include <vector>

#include "models/vae/config.h"
#include "models/vae/layers.h"

namespace cubist {

class EncoderLevel : public Module {
 public:
  EncoderLevel(const VaeConfig& c, int64_t level, int64_t in_channels, Generator& gen);
  Var forward(const Var& x, CausalStream* stream) const;

 private:
  std::vector<std::unique_ptr<ResBlock>> blocks_;
  std::unique_ptr<Downsample> downsample_;  // none after the last level
};

class Encoder : public Module {
 public:
  static constexpr float kInitialLogvar = -6.0f;  // posterior std exp(-3) = 0.05 at the start

  Encoder(const VaeConfig& config, Generator& gen);
  // x [B, in_channels, T, H, W] -> [B, 2 * latent_channels, T', H', W'].
  Var forward(const Var& x, CausalStream* stream = nullptr) const;

 private:
  CausalConv3d conv_in_;
  std::vector<std::unique_ptr<EncoderLevel>> levels_;
  std::vector<std::unique_ptr<ResBlock>> mid_;
  FrameGroupNorm norm_out_;
  CausalConv3d conv_out_;
};

}  // namespace cubist
