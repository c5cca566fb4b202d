// Seam guidance: where the new frames of a backward extension or a connection lead into an
// input's first frames, held at the window's end, sampling is steered towards latents whose
// decoding draws those frames as given (docs/DIT.md, "Seam guidance").
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "models/vae/vae.h"

namespace cubist {

// The direction in which latents `clean` [C, T, h, w] would decode their last frames more like
// `target` [1, 3, n, H, W] (the gradient of the squared error, through the causal decoder), on
// the generated latent frames [from, to) (the others are held), scaled to an RMS of 1 there so
// that the guidance scale means the same for any size.
Tensor seam_gradient(const Vae& vae, const Tensor& clean, const Tensor& target, int64_t from,
                     int64_t to);

}  // namespace cubist
