// How long sampling will take, told before it starts. The progress bar's first rate comes only
// after the first step, and a large request's first step can itself take an hour on a CPU.
//
// One evaluation of the transformer is timed here on a small sequence and scaled by arithmetic:
// its linear layers take 2 floating-point operations a parameter a token, and self-attention
// 4 n d a token a block over a clip of n tokens (scores and their weighted sum, d = the width).
// The autoencoder's decoder, which seam guidance runs with its gradient every step and which
// decodes the result, is timed on a small window and scaled by the pixels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/dit/dit.h"
#include "models/vae/vae.h"

namespace cubist {

// Operations of one evaluation of `model` on `clips` packed clips of `tokens` tokens each.
double evaluation_flops(const DiT& model, int64_t tokens, int64_t clips);

// Operations a second of this machine on `model`: one evaluation on 256 tokens, the faster of two.
double measured_flops_per_second(const DiT& model);

// Seconds a pixel of decoded video (frames x height x width) takes `vae`'s decoder on this
// machine: `decode` to decode, `guide` for seam guidance's decoding with its gradient
// (pipeline/seam_guidance.h). Each timed on a small window, the faster of two: the decoder is
// convolutions, whose work goes with the pixels.
struct DecoderSeconds {
  double decode = 0, guide = 0;
};
DecoderSeconds measured_decoder_seconds(const Vae& vae);

// "about 40 s", "about 12 min", "about 3 h 20 min", "about 5 days".
std::string about_duration(double seconds);

}  // namespace cubist
