#include "ops/modulate.h"

#include <cmath>
#include <utility>

#include "ops/check.h"
#include "ops/norm.h"
#include "ops/rowwise.h"

namespace cubist::ops {

namespace {

using detail::row_grain;

// The layout shared by the modulation ops: x[B, ..., D] seen as B samples of n rows of d.
struct Layout {
  int64_t b, n, d;
};

// Checks x[B, ..., D] and a per-sample vector v[B, D].
Layout check_layout(const char* op, const Tensor& x) {
  check_f32(op, "x", x);
  CUBIST_CHECK(x.dim() >= 2, op, ": x must be [B, N, D] (or [B, ..., D]), got ", x.shape());
  const int64_t b = x.size(0), d = x.size(-1);
  return {b, b * d == 0 ? 0 : x.numel() / (b * d), d};
}

void check_per_sample(const char* op, const char* arg, const Tensor& v, const Tensor& x) {
  check_f32(op, arg, v);
  CUBIST_CHECK(v.dim() == 2 && v.size(0) == x.size(0) && v.size(1) == x.size(-1), op, ": ", arg,
               " must be [B, D] = [", x.size(0), ", ", x.size(-1), "] to match x ", x.shape(),
               ", got ", v.shape());
}

// Calls f(b, row) for every row of x, in parallel over rows.
template <typename F>
void for_rows(const Layout& l, F f) {
  parallel_for(l.b * l.n, row_grain(l.d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) f(r / l.n, r);
  });
}

}  // namespace

Tensor modulate(const Tensor& x, const Tensor& shift, const Tensor& scale) {
  const Layout l = check_layout("modulate", x);
  check_per_sample("modulate", "shift", shift, x);
  check_per_sample("modulate", "scale", scale, x);
  Tensor y = Tensor::empty(x.shape());
  const float *px = x.data<float>(), *psh = shift.data<float>(), *psc = scale.data<float>();
  float* py = y.data<float>();
  const int64_t d = l.d;
  for_rows(l, [&](int64_t b, int64_t r) {
    const float *rx = px + r * d, *sh = psh + b * d, *sc = psc + b * d;
    float* ry = py + r * d;
    for (int64_t j = 0; j < d; ++j) ry[j] = rx[j] * (1.0f + sc[j]) + sh[j];
  });
  return y;
}

namespace {

// One row of modulate's backward in one pass: dx (when not null) and the partial sums of dshift
// and dscale (when not null). Plain restrict pointers so the compiler vectorises the single loop.
void modulate_backward_row(const float* dy, const float* x, const float* sc, float* __restrict dx,
                           float* __restrict dshift, float* __restrict dscale, int64_t d) {
  if (dx && dshift) {
    for (int64_t j = 0; j < d; ++j) {
      dx[j] = dy[j] * (1.0f + sc[j]);
      dshift[j] += dy[j];
      dscale[j] += dy[j] * x[j];
    }
  } else if (dx) {
    for (int64_t j = 0; j < d; ++j) dx[j] = dy[j] * (1.0f + sc[j]);
  } else if (dshift) {
    for (int64_t j = 0; j < d; ++j) {
      dshift[j] += dy[j];
      dscale[j] += dy[j] * x[j];
    }
  }
}

}  // namespace

ModulateGrads modulate_backward(const Tensor& dy, const Tensor& x, const Tensor& scale,
                                bool need_dx, bool need_dshift, bool need_dscale) {
  const char* op = "modulate_backward";
  const Layout l = check_layout(op, x);
  check_f32(op, "dy", dy);
  check_same_shape(op, dy, x);
  check_per_sample(op, "scale", scale, x);
  ModulateGrads g{need_dx ? Tensor::empty(x.shape()) : Tensor(),
                  need_dshift ? Tensor::empty({l.b, l.d}) : Tensor(),
                  need_dscale ? Tensor::empty({l.b, l.d}) : Tensor()};
  const float *pdy = dy.data<float>(), *px = x.data<float>(), *psc = scale.data<float>();
  float* pdx = need_dx ? g.dx.data<float>() : nullptr;
  float* outs[2] = {need_dshift ? g.dshift.data<float>() : nullptr,
                    need_dscale ? g.dscale.data<float>() : nullptr};
  const int64_t d = l.d;
  // dx = dy * (1 + scale); partial sums over the sample's rows: dshift += dy, dscale += dy * x.
  const int k = (need_dshift || need_dscale) ? 2 : 0;
  detail::reduce_rows(l.b, l.n, d, k, outs,
                      [&](int64_t b, int64_t r0, int64_t r1, float* const* p) {
                        const float* sc = psc + b * d;
                        for (int64_t r = b * l.n + r0; r < b * l.n + r1; ++r) {
                          const float *rdy = pdy + r * d, *rx = px + r * d;
                          modulate_backward_row(rdy, rx, sc, pdx ? pdx + r * d : nullptr,
                                                k ? p[0] : nullptr, k ? p[1] : nullptr, d);
                        }
                      });
  return g;
}

Tensor gate_residual(const Tensor& x, const Tensor& gate, const Tensor& y) {
  const Layout l = check_layout("gate_residual", x);
  check_per_sample("gate_residual", "gate", gate, x);
  check_f32("gate_residual", "y", y);
  check_same_shape("gate_residual", x, y);
  Tensor out = Tensor::empty(x.shape());
  const float *px = x.data<float>(), *pg = gate.data<float>(), *py = y.data<float>();
  float* po = out.data<float>();
  const int64_t d = l.d;
  for_rows(l, [&](int64_t b, int64_t r) {
    const float *rx = px + r * d, *ry = py + r * d, *g = pg + b * d;
    float* ro = po + r * d;
    for (int64_t j = 0; j < d; ++j) ro[j] = rx[j] + g[j] * ry[j];
  });
  return out;
}

GateResidualGrads gate_residual_backward(const Tensor& dout, const Tensor& gate, const Tensor& y,
                                         bool need_dgate, bool need_dy) {
  const char* op = "gate_residual_backward";
  const Layout l = check_layout(op, y);
  check_f32(op, "dout", dout);
  check_same_shape(op, dout, y);
  check_per_sample(op, "gate", gate, y);
  GateResidualGrads g{dout, need_dgate ? Tensor::empty({l.b, l.d}) : Tensor(),
                      need_dy ? Tensor::empty(y.shape()) : Tensor()};
  const float *pdo = dout.data<float>(), *pg = gate.data<float>(), *py = y.data<float>();
  float* pdy = need_dy ? g.dy.data<float>() : nullptr;
  float* outs[1] = {need_dgate ? g.dgate.data<float>() : nullptr};
  const int64_t d = l.d;
  // dy = dout * gate; partial sums over the sample's rows: dgate += dout * y.
  detail::reduce_rows(l.b, l.n, d, need_dgate ? 1 : 0, outs,
                      [&](int64_t b, int64_t r0, int64_t r1, float* const* p) {
                        const float* gb = pg + b * d;
                        for (int64_t r = b * l.n + r0; r < b * l.n + r1; ++r) {
                          const float *rdo = pdo + r * d, *ry = py + r * d;
                          if (pdy)
                            for (int64_t j = 0; j < d; ++j) pdy[r * d + j] = rdo[j] * gb[j];
                          if (need_dgate)
                            for (int64_t j = 0; j < d; ++j) p[0][j] += rdo[j] * ry[j];
                        }
                      });
  return g;
}

LayerNormModulateResult layer_norm_modulate(const Tensor& x, const Tensor& shift,
                                            const Tensor& scale, float eps) {
  const char* op = "layer_norm_modulate";
  const Layout l = check_layout(op, x);
  check_per_sample(op, "shift", shift, x);
  check_per_sample(op, "scale", scale, x);
  CUBIST_CHECK(l.d > 0, op, ": x must have a non-empty last dimension, got ", x.shape());
  CUBIST_CHECK(eps >= 0.0f, op, ": eps must be >= 0, got ", eps);
  const int64_t rows = l.b * l.n, d = l.d;
  LayerNormModulateResult res{Tensor::empty(x.shape()), Tensor::empty({rows}),
                              Tensor::empty({rows})};
  const float *px = x.data<float>(), *psh = shift.data<float>(), *psc = scale.data<float>();
  float *py = res.y.data<float>(), *pm = res.mean.data<float>(), *ps = res.rstd.data<float>();
  const float fd = static_cast<float>(d);
  for_rows(l, [&](int64_t b, int64_t r) {
    const float *rx = px + r * d, *sh = psh + b * d, *sc = psc + b * d;
    float* ry = py + r * d;
    // The same arithmetic as layer_norm, so the fused and unfused paths agree to the bit.
    const float mean = detail::row_sum(rx, d) / fd;
    const float var = detail::row_reduce(d,
                                         [rx, mean](int64_t j) {
                                           const float c = rx[j] - mean;
                                           return c * c;
                                         }) /
                      fd;
    const float s = 1.0f / std::sqrt(var + eps);
    for (int64_t j = 0; j < d; ++j) ry[j] = ((rx[j] - mean) * s) * (1.0f + sc[j]) + sh[j];
    pm[r] = mean;
    ps[r] = s;
  });
  return res;
}

namespace {

// One row of layer_norm_modulate's backward (the formulas are above layer_norm_modulate_backward):
// one pass for both row sums, one pass for dx and the partial sums of dshift and dscale (skipped
// when dshift is null). Plain pointer arguments, so the compiler sees no aliasing through captured
// references and vectorises both passes.
void ln_modulate_backward_row(const float* dy, const float* x, const float* sc, float m, float s,
                              float* __restrict dx, float* __restrict dshift,
                              float* __restrict dscale, int64_t d) {
  const float inv_d = 1.0f / static_cast<float>(d);
  const auto [sum_g, sum_gx] = detail::row_reduce2(d, [&](int64_t j) {
    const float gj = dy[j] * (1.0f + sc[j]);
    return std::pair<float, float>{gj, gj * ((x[j] - m) * s)};
  });
  const float mean_g = sum_g * inv_d, mean_gx = sum_gx * inv_d;
  if (!dshift) {
    for (int64_t j = 0; j < d; ++j)
      dx[j] = s * (dy[j] * (1.0f + sc[j]) - mean_g - (x[j] - m) * s * mean_gx);
    return;
  }
  for (int64_t j = 0; j < d; ++j) {
    const float xhat = (x[j] - m) * s;
    dx[j] = s * (dy[j] * (1.0f + sc[j]) - mean_g - xhat * mean_gx);
    dshift[j] += dy[j];
    dscale[j] += dy[j] * xhat;
  }
}

}  // namespace

// With xhat = (x - mean) * rstd and y = xhat * (1 + scale) + shift:
//   dshift = sum over tokens of dy, dscale = sum over tokens of dy * xhat,
//   g = dy * (1 + scale), dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) (layer_norm's rule).
LayerNormModulateGrads layer_norm_modulate_backward(const Tensor& dy, const Tensor& x,
                                                    const Tensor& scale, const Tensor& mean,
                                                    const Tensor& rstd, bool need_dshift,
                                                    bool need_dscale) {
  const char* op = "layer_norm_modulate_backward";
  const Layout l = check_layout(op, x);
  check_f32(op, "dy", dy);
  check_same_shape(op, dy, x);
  check_per_sample(op, "scale", scale, x);
  const int64_t rows = l.b * l.n, d = l.d;
  detail::check_row_stat(op, "mean", mean, rows);
  detail::check_row_stat(op, "rstd", rstd, rows);
  LayerNormModulateGrads g{Tensor::empty(x.shape()),
                           need_dshift ? Tensor::empty({l.b, d}) : Tensor(),
                           need_dscale ? Tensor::empty({l.b, d}) : Tensor()};
  const float *pdy = dy.data<float>(), *px = x.data<float>(), *psc = scale.data<float>(),
              *pm = mean.data<float>(), *ps = rstd.data<float>();
  float* pdx = g.dx.data<float>();
  float* outs[2] = {need_dshift ? g.dshift.data<float>() : nullptr,
                    need_dscale ? g.dscale.data<float>() : nullptr};
  const int k = (need_dshift || need_dscale) ? 2 : 0;
  detail::reduce_rows(l.b, l.n, d, k, outs,
                      [&](int64_t b, int64_t r0, int64_t r1, float* const* p) {
                        const float* sc = psc + b * d;
                        for (int64_t r = b * l.n + r0; r < b * l.n + r1; ++r) {
                          const float *rdy = pdy + r * d, *rx = px + r * d;
                          ln_modulate_backward_row(rdy, rx, sc, pm[r], ps[r], pdx + r * d,
                                                   k ? p[0] : nullptr, k ? p[1] : nullptr, d);
                        }
                      });
  return g;
}

}  // namespace cubist::ops
