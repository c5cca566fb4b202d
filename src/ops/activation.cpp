#include "ops/activation.h"

#include "core/parallel.h"
#include "ops/check.h"
#include "ops/norm.h"
#include "ops/rowwise.h"

namespace cubist::ops {

namespace {

constexpr int64_t kGrain = 1 << 15;
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluCubic = 0.044715f;

// 0.5 (1 + tanh(u)) = sigmoid(2u): written so, gelu needs one exp and no tanh, and has no
// cancellation near u = 0.
inline float gelu_gate(float x) {
  const float u = kSqrt2OverPi * (x + kGeluCubic * x * x * x);
  return detail::sigmoid_approx(2.0f * u);
}

inline float gelu_value(float x) { return x * gelu_gate(x); }

// d/dx [x s(2u(x))] = s + x * 2 s (1 - s) u'(x),  u'(x) = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
inline float gelu_grad(float x) {
  const float s = gelu_gate(x);
  const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * x * x);
  return s + 2.0f * x * s * (1.0f - s) * du;
}

// d/dx [x s(x)] = s + x s (1 - s) = s (1 + x (1 - s))
inline float silu_grad(float x) {
  const float s = detail::sigmoid_approx(x);
  return s * (1.0f + x * (1.0f - s));
}

template <typename F>
Tensor unary(const char* op, const Tensor& x, F f) {
  check_f32(op, "x", x);
  Tensor y = Tensor::empty(x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  parallel_for(x.numel(), kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) py[i] = f(px[i]);
  });
  return y;
}

// dx = dy * f'(x)
template <typename F>
Tensor unary_backward(const char* op, const Tensor& dy, const Tensor& x, F grad) {
  check_f32(op, "dy", dy);
  check_f32(op, "x", x);
  check_same_shape(op, dy, x);
  Tensor dx = Tensor::empty(x.shape());
  const float *px = x.data<float>(), *pdy = dy.data<float>();
  float* pdx = dx.data<float>();
  parallel_for(x.numel(), kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) pdx[i] = pdy[i] * grad(px[i]);
  });
  return dx;
}

}  // namespace

// Lambdas rather than function pointers, so the element functions inline and the loops vectorise.
Tensor gelu(const Tensor& x) {
  return unary("gelu", x, [](float v) { return gelu_value(v); });
}
Tensor gelu_backward(const Tensor& dy, const Tensor& x) {
  return unary_backward("gelu_backward", dy, x, [](float v) { return gelu_grad(v); });
}

Tensor silu(const Tensor& x) {
  return unary("silu", x, [](float v) { return v * detail::sigmoid_approx(v); });
}
Tensor silu_backward(const Tensor& dy, const Tensor& x) {
  return unary_backward("silu_backward", dy, x, [](float v) { return silu_grad(v); });
}

Tensor bias_gelu(const Tensor& x, const Tensor& b) {
  const int64_t d = detail::check_rows("bias_gelu", x);
  check_f32("bias_gelu", "b", b);
  detail::check_feature_param("bias_gelu", "b", b, d);
  Tensor y = Tensor::empty(x.shape());
  const float *px = x.data<float>(), *pb = b.data<float>();
  float* py = y.data<float>();
  parallel_for(x.numel() / d, detail::row_grain(d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < d; ++j) py[r * d + j] = gelu_value(px[r * d + j] + pb[j]);
  });
  return y;
}

// dx = dy * gelu'(x + b), db = sum over rows of dx.
BiasGeluGrads bias_gelu_backward(const Tensor& dy, const Tensor& x, const Tensor& b, bool need_db) {
  const char* op = "bias_gelu_backward";
  const int64_t d = detail::check_rows(op, x);
  check_f32(op, "dy", dy);
  check_same_shape(op, dy, x);
  check_f32(op, "b", b);
  detail::check_feature_param(op, "b", b, d);
  BiasGeluGrads g{Tensor::empty(x.shape()), need_db ? Tensor::empty({d}) : Tensor()};
  const float *pdy = dy.data<float>(), *px = x.data<float>(), *pb = b.data<float>();
  float* pdx = g.dx.data<float>();
  float* outs[1] = {need_db ? g.db.data<float>() : nullptr};
  detail::reduce_rows(1, x.numel() / d, d, need_db ? 1 : 0, outs,
                      [&](int64_t, int64_t r0, int64_t r1, float* const* p) {
                        for (int64_t r = r0; r < r1; ++r) {
                          float* rdx = pdx + r * d;
                          for (int64_t j = 0; j < d; ++j)
                            rdx[j] = pdy[r * d + j] * gelu_grad(px[r * d + j] + pb[j]);
                          if (!need_db) continue;
                          for (int64_t j = 0; j < d; ++j) p[0][j] += rdx[j];
                        }
                      });
  return g;
}

}  // namespace cubist::ops
