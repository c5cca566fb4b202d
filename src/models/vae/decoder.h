// The causal 3-D decoder (latent -> pixels), the encoder's mirror image:
//
//   z [B, latent_channels, T', H', W']
//   conv_in (3x3x3)                                   -> channels * mult[last]
//   mid_blocks x ResBlock
//   for each level l from the last to the first:
//                      blocks_per_level x ResBlock    -> channels * mult[l]
//                      Upsample below levels > 0 (space x2, time T -> 1 + 2 (T-1) where the
//                      encoder's transition l - 1 halved them), its conv narrowing to
//                      channels * mult[l - 1]
//   FrameGroupNorm, SiLU, conv_out (3x3x3)            -> out channels (3: RGB in [-1, 1])
//
// Parameter names: conv_in.*, mid.<j>.*, up.<l>.blocks.<j>.*, up.<l>.upsample.conv.*,
// norm_out.*, conv_out.* (under "decoder." in a Vae).
#pragma once

#include <memory>
#include <vector>

#include "models/vae/config.h"
#include "models/vae/layers.h"

namespace cubist {

class DecoderLevel : public Module {
 public:
  DecoderLevel(const VaeConfig& c, int64_t level, int64_t in_channels, Generator& gen);
  Var forward(const Var& x, CausalStream* stream) const;
  bool upsamples() const { return upsample_ != nullptr; }

 private:
  std::vector<std::unique_ptr<ResBlock>> blocks_;
  std::unique_ptr<Upsample> upsample_;  // none at level 0
};

class Decoder : public Module {
 public:
  Decoder(const VaeConfig& config, Generator& gen);
  // z [B, latent_channels, T', H', W'] -> [B, in_channels, 1 + tf (T'-1), sf H', sf W'].
  Var forward(const Var& z, CausalStream* stream = nullptr) const;

 private:
  CausalConv3d conv_in_;
  std::vector<std::unique_ptr<ResBlock>> mid_;
  std::vector<std::unique_ptr<DecoderLevel>> levels_;  // levels_[l] is level l; run last first
  FrameGroupNorm norm_out_;
  CausalConv3d conv_out_;
};

}  // namespace cubist
