// Building blocks of the causal video autoencoder:
//
//   CausalConv3d   3-D convolution that never looks at a later frame: kt - 1 copies of the first
//                  frame are put before it (so a still image is encoded like a video of it), and
//                  space is padded with zeros to keep "same" sizes.
//   FrameGroupNorm group norm over each frame on its own (channels-in-group x H x W), never over
//                  time, so that frame t's output depends only on frames <= t.
//   ResBlock       x + conv(SiLU(norm(conv(SiLU(norm(x)))))), a 1x1x1 conv on the skip path when
//                  the channel count changes.
//   Downsample     a strided causal conv: space /2 and/or time T -> 1 + (T - 1) / 2.
//   Upsample       nearest-neighbour x2 in space and/or time T -> 1 + 2 (T - 1) (the first frame
//                  stays single), then a causal conv to the next level's (fewer) channels, so
//                  the larger grid is convolved at the smaller width.
//
// Every layer is causal in time, and the network has no other path between frames. So a video
// can be run through in temporal chunks (the first frame alone, then any number of frames at a
// time) with a CausalStream that carries each convolution's last input frames from one chunk to
// the next, and the result equals the one-pass result: memory stays bounded by the chunk size.
#pragma once

#include <array>
#include <memory>
#include <unordered_map>
#include <vector>

#include "nn/module.h"

namespace cubist {

// The state of a chunked (streaming) pass: what each convolution keeps of the frames it has seen.
struct CausalStream {
  std::unordered_map<const void*, Tensor> frames;
  bool first_chunk = true;  // the chunk being run holds the video's first frame
};

class CausalConv3d : public Module {
 public:
  // kernel and stride are (t, h, w); spatial padding is kernel / 2.
  CausalConv3d(int64_t in, int64_t out, std::array<int64_t, 3> kernel,
               std::array<int64_t, 3> stride, Generator& gen);
  // x [B, in, T, H, W] -> [B, out, (T - 1) / st + 1, H / sh, W / sw]. With a stream, x is the
  // next chunk of frames and the result is that chunk's share of the one-pass output.
  Var forward(const Var& x, CausalStream* stream = nullptr) const;
  Var& bias() { return bias_; }

 private:
  Var weight_, bias_;
  std::array<int64_t, 3> kernel_, stride_;
};

class FrameGroupNorm : public Module {
 public:
  FrameGroupNorm(int64_t channels, int64_t groups);
  Var forward(const Var& x) const;  // x [B, C, T, H, W]

 private:
  Var weight_, bias_;
  int64_t groups_;
};

class ResBlock : public Module {
 public:
  ResBlock(int64_t in, int64_t out, int64_t groups, Generator& gen);
  Var forward(const Var& x, CausalStream* stream = nullptr) const;

 private:
  FrameGroupNorm norm1_;
  CausalConv3d conv1_;
  FrameGroupNorm norm2_;
  CausalConv3d conv2_;
  std::unique_ptr<CausalConv3d> skip_;  // only when in != out
};

class Downsample : public Module {
 public:
  Downsample(int64_t channels, bool halve_time, bool halve_space, Generator& gen);
  Var forward(const Var& x, CausalStream* stream = nullptr) const;

 private:
  CausalConv3d conv_;
};

class Upsample : public Module {
 public:
  Upsample(int64_t in, int64_t out, bool double_time, bool double_space, Generator& gen);
  Var forward(const Var& x, CausalStream* stream = nullptr) const;

 private:
  bool double_time_, double_space_;
  CausalConv3d conv_;
};

}  // namespace cubist
