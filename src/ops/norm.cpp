#include "ops/norm.h"

#include <cmath>
#include <utility>

#include "ops/check.h"
#include "ops/rowwise.h"

namespace cubist::ops {

namespace detail {

int64_t check_rows(const char* op, const Tensor& x) {
  check_f32(op, "x", x);
  CUBIST_CHECK(x.dim() >= 1 && x.size(-1) > 0, op, ": x must have a non-empty last dimension, got ",
               x.shape());
  return x.size(-1);
}

void check_feature_param(const char* op, const char* arg, const Tensor& p, int64_t d) {
  if (!p.defined()) return;
  check_f32(op, arg, p);
  CUBIST_CHECK(p.dim() == 1 && p.size(0) == d, op, ": ", arg, " must be [", d,
               "] (the last dimension of x), got ", p.shape());
}

void check_row_stat(const char* op, const char* arg, const Tensor& s, int64_t rows) {
  check_f32(op, arg, s);
  CUBIST_CHECK(s.numel() == rows, op, ": ", arg, " must hold one value per row (", rows, "), got ",
               s.shape());
}

}  // namespace detail

namespace {

using detail::row_grain;

// One row of layer_norm. Two passes over the row (it sits in L1): the mean, then the variance of
// the centred values, which keeps precision when |mean| >> std.
template <bool kWeight, bool kBias>
void layer_norm_row(const float* x, const float* w, const float* b, float* y, int64_t d, float eps,
                    float* mean_out, float* rstd_out) {
  const float mean = detail::row_sum(x, d) / static_cast<float>(d);
  const float var = detail::row_reduce(d,
                                       [x, mean](int64_t j) {
                                         const float c = x[j] - mean;
                                         return c * c;
                                       }) /
                    static_cast<float>(d);
  const float rstd = 1.0f / std::sqrt(var + eps);
  for (int64_t j = 0; j < d; ++j) {
    float v = (x[j] - mean) * rstd;
    if constexpr (kWeight) v *= w[j];
    if constexpr (kBias) v += b[j];
    y[j] = v;
  }
  *mean_out = mean;
  *rstd_out = rstd;
}

template <bool kWeight, bool kBias>
void layer_norm_rows(const float* x, const float* w, const float* b, float* y, float* mean,
                     float* rstd, int64_t rows, int64_t d, float eps) {
  parallel_for(rows, row_grain(d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      layer_norm_row<kWeight, kBias>(x + r * d, w, b, y + r * d, d, eps, mean + r, rstd + r);
  });
}

// dx of one row of layer_norm, with g = dy * weight (or dy) and xhat = (x - mean) * rstd:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
template <bool kWeight>
void layer_norm_backward_row(const float* dy, const float* x, const float* w, float mean,
                             float rstd, float* dx, int64_t d) {
  auto g = [dy, w](int64_t j) {
    if constexpr (kWeight) return dy[j] * w[j];
    return dy[j];
  };
  const float inv_d = 1.0f / static_cast<float>(d);
  const auto [sum_g, sum_gx] = detail::row_reduce2(d, [&](int64_t j) {
    const float gj = g(j);
    return std::pair<float, float>{gj, gj * ((x[j] - mean) * rstd)};
  });
  const float mean_g = sum_g * inv_d, mean_gx = sum_gx * inv_d;
  for (int64_t j = 0; j < d; ++j) dx[j] = rstd * (g(j) - mean_g - (x[j] - mean) * rstd * mean_gx);
}

}  // namespace

LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  const int64_t d = detail::check_rows("layer_norm", x);
  detail::check_feature_param("layer_norm", "weight", weight, d);
  detail::check_feature_param("layer_norm", "bias", bias, d);
  CUBIST_CHECK(eps >= 0.0f, "layer_norm: eps must be >= 0, got ", eps);
  const int64_t rows = x.numel() / d;
  LayerNormResult r{Tensor::empty(x.shape()), Tensor::empty({rows}), Tensor::empty({rows})};
  const float* w = weight.defined() ? weight.data<float>() : nullptr;
  const float* b = bias.defined() ? bias.data<float>() : nullptr;
  const float* px = x.data<float>();
  float *y = r.y.data<float>(), *m = r.mean.data<float>(), *s = r.rstd.data<float>();
  if (w && b)
    layer_norm_rows<true, true>(px, w, b, y, m, s, rows, d, eps);
  else if (w)
    layer_norm_rows<true, false>(px, w, b, y, m, s, rows, d, eps);
  else if (b)
    layer_norm_rows<false, true>(px, w, b, y, m, s, rows, d, eps);
  else
    layer_norm_rows<false, false>(px, w, b, y, m, s, rows, d, eps);
  return r;
}

LayerNormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                   const Tensor& mean, const Tensor& rstd, bool need_dweight,
                                   bool need_dbias) {
  const char* op = "layer_norm_backward";
  const int64_t d = detail::check_rows(op, x);
  check_f32(op, "dy", dy);
  check_same_shape(op, dy, x);
  detail::check_feature_param(op, "weight", weight, d);
  const int64_t rows = x.numel() / d;
  detail::check_row_stat(op, "mean", mean, rows);
  detail::check_row_stat(op, "rstd", rstd, rows);

  LayerNormGrads g{Tensor::empty(x.shape()), need_dweight ? Tensor::empty({d}) : Tensor(),
                   need_dbias ? Tensor::empty({d}) : Tensor()};
  const float *pdy = dy.data<float>(), *px = x.data<float>(), *pm = mean.data<float>(),
              *ps = rstd.data<float>();
  const float* w = weight.defined() ? weight.data<float>() : nullptr;
  float* pdx = g.dx.data<float>();
  float* outs[2] = {need_dweight ? g.dweight.data<float>() : nullptr,
                    need_dbias ? g.dbias.data<float>() : nullptr};
  const int k = (need_dweight || need_dbias) ? 2 : 0;
  // Per chunk of rows: dx row by row, and the partial sums dweight += dy * xhat, dbias += dy.
  detail::reduce_rows(1, rows, d, k, outs, [&](int64_t, int64_t r0, int64_t r1, float* const* p) {
    for (int64_t r = r0; r < r1; ++r) {
      const float *rdy = pdy + r * d, *rx = px + r * d;
      if (w)
        layer_norm_backward_row<true>(rdy, rx, w, pm[r], ps[r], pdx + r * d, d);
      else
        layer_norm_backward_row<false>(rdy, rx, w, pm[r], ps[r], pdx + r * d, d);
      if (k == 0) continue;
      const float m = pm[r], s = ps[r];
      float *pw = p[0], *pb = p[1];
      for (int64_t j = 0; j < d; ++j) {
        pw[j] += rdy[j] * ((rx[j] - m) * s);
        pb[j] += rdy[j];
      }
    }
  });
  return g;
}

namespace {

template <bool kWeight>
void rms_norm_rows(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t d,
                   float eps) {
  parallel_for(rows, row_grain(d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* rx = x + r * d;
      float* ry = y + r * d;
      const float s = 1.0f / std::sqrt(detail::row_dot(rx, rx, d) / static_cast<float>(d) + eps);
      for (int64_t j = 0; j < d; ++j) {
        if constexpr (kWeight)
          ry[j] = rx[j] * s * w[j];
        else
          ry[j] = rx[j] * s;
      }
      rstd[r] = s;
    }
  });
}

// dx of one row of rms_norm, with g = dy * weight (or dy):
//   y = x * s, s = (mean(x^2) + eps)^(-1/2), ds/dx_j = -s^3 x_j / D
//   dx = s * (g - x * s^2 * mean(g * x))
template <bool kWeight>
void rms_norm_backward_row(const float* dy, const float* x, const float* w, float s, float* dx,
                           int64_t d) {
  auto g = [dy, w](int64_t j) {
    if constexpr (kWeight) return dy[j] * w[j];
    return dy[j];
  };
  const float c =
      s * s * detail::row_reduce(d, [&](int64_t j) { return g(j) * x[j]; }) / static_cast<float>(d);
  for (int64_t j = 0; j < d; ++j) dx[j] = s * (g(j) - x[j] * c);
}

}  // namespace

RmsNormResult rms_norm(const Tensor& x, const Tensor& weight, float eps) {
  const int64_t d = detail::check_rows("rms_norm", x);
  detail::check_feature_param("rms_norm", "weight", weight, d);
  CUBIST_CHECK(eps >= 0.0f, "rms_norm: eps must be >= 0, got ", eps);
  const int64_t rows = x.numel() / d;
  RmsNormResult r{Tensor::empty(x.shape()), Tensor::empty({rows})};
  if (weight.defined())
    rms_norm_rows<true>(x.data<float>(), weight.data<float>(), r.y.data<float>(),
                        r.rstd.data<float>(), rows, d, eps);
  else
    rms_norm_rows<false>(x.data<float>(), nullptr, r.y.data<float>(), r.rstd.data<float>(), rows, d,
                         eps);
  return r;
}

RmsNormGrads rms_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                               const Tensor& rstd, bool need_dweight) {
  const char* op = "rms_norm_backward";
  const int64_t d = detail::check_rows(op, x);
  check_f32(op, "dy", dy);
  check_same_shape(op, dy, x);
  detail::check_feature_param(op, "weight", weight, d);
  const int64_t rows = x.numel() / d;
  detail::check_row_stat(op, "rstd", rstd, rows);

  RmsNormGrads g{Tensor::empty(x.shape()), need_dweight ? Tensor::empty({d}) : Tensor()};
  const float *pdy = dy.data<float>(), *px = x.data<float>(), *ps = rstd.data<float>();
  const float* w = weight.defined() ? weight.data<float>() : nullptr;
  float* pdx = g.dx.data<float>();
  float* outs[1] = {need_dweight ? g.dweight.data<float>() : nullptr};
  // Per chunk of rows: dx row by row, and the partial sums dweight += dy * x * rstd.
  detail::reduce_rows(1, rows, d, need_dweight ? 1 : 0, outs,
                      [&](int64_t, int64_t r0, int64_t r1, float* const* p) {
                        for (int64_t r = r0; r < r1; ++r) {
                          const float *rdy = pdy + r * d, *rx = px + r * d;
                          if (w)
                            rms_norm_backward_row<true>(rdy, rx, w, ps[r], pdx + r * d, d);
                          else
                            rms_norm_backward_row<false>(rdy, rx, w, ps[r], pdx + r * d, d);
                          if (!need_dweight) continue;
                          for (int64_t j = 0; j < d; ++j) p[0][j] += rdy[j] * rx[j] * ps[r];
                        }
                      });
  return g;
}

}  // namespace cubist::ops
