#include "ops/adam.h"

#include <cmath>

#include "core/parallel.h"
#include "ops/check.h"

namespace cubist::ops {

void adam_update_(Tensor& w, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& s) {
  check_f32("adam_update_", "weights", w);
  check_f32("adam_update_", "gradient", g);
  check_f32("adam_update_", "first moment", m);
  check_f32("adam_update_", "second moment", v);
  check_same_shape("adam_update_", w, g);
  check_same_shape("adam_update_", w, m);
  check_same_shape("adam_update_", w, v);
  const float b1 = s.beta1, b2 = s.beta2, eps = s.eps, lr = s.lr, decay = s.decay;
  const float c1 = 1.0f - std::pow(b1, static_cast<float>(s.step));
  const float c2 = 1.0f - std::pow(b2, static_cast<float>(s.step));
  float* pw = w.data<float>();
  const float* pg = g.data<float>();
  float* pm = m.data<float>();
  float* pv = v.data<float>();
  parallel_for(w.numel(), 1 << 14, [=](int64_t b, int64_t e) {
    // Four separate tensors (checked above by shape, and so by storage: the optimizer owns m
    // and v): with no aliasing and sqrt's errno out of the way (-fno-math-errno), the loop is
    // vectorised; it was scalar, a square root and two divisions an element, and 7.5% of a
    // training step of the bundled model.
    float* __restrict mw = pw + b;
    const float* __restrict mg = pg + b;
    float* __restrict mm = pm + b;
    float* __restrict mv = pv + b;
    for (int64_t j = 0; j < e - b; ++j) {
      const float m1 = b1 * mm[j] + (1.0f - b1) * mg[j];
      const float v1 = b2 * mv[j] + (1.0f - b2) * mg[j] * mg[j];
      mm[j] = m1, mv[j] = v1;
      mw[j] = mw[j] * decay - lr * (m1 / c1) / (std::sqrt(v1 / c2) + eps);
    }
  });
}

}  // namespace cubist::ops
