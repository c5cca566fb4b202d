#include "ops/softmax.h"

#include "ops/check.h"
#include "ops/norm.h"
#include "ops/rowwise.h"

namespace cubist::ops {

Tensor softmax(const Tensor& x) {
  const int64_t d = detail::check_rows("softmax", x);
  Tensor y = Tensor::empty(x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  parallel_for(x.numel() / d, detail::row_grain(d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* rx = px + r * d;
      float* ry = py + r * d;
      const float m = detail::row_max(rx, d);
      // A row of -inf (fully masked) has no maximum to subtract; it comes out as NaN, as in torch.
      for (int64_t j = 0; j < d; ++j) ry[j] = detail::exp_approx(rx[j] - m);
      const float inv = 1.0f / detail::row_sum(ry, d);
      for (int64_t j = 0; j < d; ++j) ry[j] *= inv;
    }
  });
  return y;
}

Tensor softmax_backward(const Tensor& dy, const Tensor& y) {
  const int64_t d = detail::check_rows("softmax_backward", y);
  check_f32("softmax_backward", "dy", dy);
  check_same_shape("softmax_backward", dy, y);
  Tensor dx = Tensor::empty(y.shape());
  const float *pdy = dy.data<float>(), *py = y.data<float>();
  float* pdx = dx.data<float>();
  parallel_for(y.numel() / d, detail::row_grain(d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float *rdy = pdy + r * d, *ry = py + r * d;
      float* rdx = pdx + r * d;
      const float dot = detail::row_dot(rdy, ry, d);
      for (int64_t j = 0; j < d; ++j) rdx[j] = ry[j] * (rdy[j] - dot);
    }
  });
  return dx;
}

}  // namespace cubist::ops
