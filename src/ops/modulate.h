// adaLN modulation kernels of DiT, forward beside backward, on contiguous f32 tensors.
// x is [B, ..., D] (usually [B, N, D]: N tokens per sample); the per-sample vectors shift, scale
// and gate are [B, D] and broadcast over the tokens.
#pragma once

#include "core/tensor.h"

namespace cubist::ops {

// y = x * (1 + scale) + shift
Tensor modulate(const Tensor& x, const Tensor& shift, const Tensor& scale);

struct ModulateGrads {
  Tensor dx;      // [B, ..., D]
  Tensor dshift;  // [B, D]: sum over tokens of dy
  Tensor dscale;  // [B, D]: sum over tokens of dy * x
};
ModulateGrads modulate_backward(const Tensor& dy, const Tensor& x, const Tensor& scale,
                                bool need_dx, bool need_dshift, bool need_dscale);

// out = x + gate * y (the gated residual of adaLN-Zero).
Tensor gate_residual(const Tensor& x, const Tensor& gate, const Tensor& y);

struct GateResidualGrads {
  Tensor dx;     // [B, ..., D]: dout itself
  Tensor dgate;  // [B, D]: sum over tokens of dout * y
  Tensor dy;     // [B, ..., D]: dout * gate
};
GateResidualGrads gate_residual_backward(const Tensor& dout, const Tensor& gate, const Tensor& y,
                                         bool need_dgate, bool need_dy);

// y = modulate(layer_norm(x) without affine, shift, scale) in one pass per row: x is read once and
// y written once. mean and rstd ([rows]) are kept for the backward.
struct LayerNormModulateResult {
  Tensor y, mean, rstd;
};
LayerNormModulateResult layer_norm_modulate(const Tensor& x, const Tensor& shift,
                                            const Tensor& scale, float eps = 1e-6f);

struct LayerNormModulateGrads {
  Tensor dx, dshift, dscale;
};
LayerNormModulateGrads layer_norm_modulate_backward(const Tensor& dy, const Tensor& x,
                                                    const Tensor& scale, const Tensor& mean,
                                                    const Tensor& rstd, bool need_dshift,
                                                    bool need_dscale);

}  // namespace cubist::ops
