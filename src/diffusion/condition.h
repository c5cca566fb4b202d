// Prompting with images and videos through one mechanism: known latent frames under a mask.
//
// A clip's latent frames are either known (given by the user: an image to animate, the end of a
// video to extend, both ends of a passage to connect) or generated. The transformer sees the
// noisy latent with the known frames replaced by their clean values, plus a mask channel that
// says which are known: input [C + 1, T, H, W] (models/dit/config.h, frame_conditioning). The
// velocity loss covers only the generated frames. Training draws a random mask for a share of
// clips (random_known_mask below); sampling holds the known frames at their clean values at every
// step, so they come out exactly as given (diffusion/dit_flow.h).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace cubist {

// The kinds of known-frame masks that training draws, in proportion to whole-number weights
// (DiTConfig::condition_masks, uniform by default). `frames` below counts latent
// frames; for a clip of T latent frames, k is drawn in [1, T - 1], so that something is always
// left to generate.
//   first:  frame 0 (an image to animate)
//   head:   the first k frames (extension forward)
//   tail:   the last k frames (extension backward)
//   ends:   the first a and the last b frames, a + b <= T - 1 (connecting two videos, loops)
//   random: each frame known with probability 1/2, at least one generated
enum class MaskKind { kFirst, kHead, kTail, kEnds, kRandom };

// [1, T, H, W] with 1 on the known latent frames, of a kind drawn with the given weights (in
// MaskKind's order). Clips of one latent frame (images) have nothing to condition on and get an
// all-zero mask. Draws only from gen; uniform weights draw exactly as gen.randint(5).
inline constexpr std::array<int64_t, 5> kUniformMasks = {1, 1, 1, 1, 1};
Tensor random_known_mask(int64_t frames, int64_t height, int64_t width, Generator& gen,
                         const std::array<int64_t, 5>& weights = kUniformMasks);

// [1, T, H, W] with 1 on the listed latent frames (each in [0, T); throws Error otherwise).
Tensor frame_mask(int64_t frames, int64_t height, int64_t width,
                  const std::vector<int64_t>& known_frames);

// x where mask is 0, known where mask is 1; x and known [C, T, H, W], mask [1, T, H, W].
Tensor hold_frames(const Tensor& x, const Tensor& known, const Tensor& mask);

// [C + 1, T, H, W]: x with the mask as one more channel (what a frame-conditioned model reads).
Tensor with_mask_channel(const Tensor& x, const Tensor& mask);

// [C, T, H, W]: 1 - mask broadcast over C channels (the weight of each element in the loss).
Tensor generated_weight(const Tensor& mask, int64_t channels);

}  // namespace cubist
