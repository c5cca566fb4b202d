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
  parallel_for(w.numel(), 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      pm[j] = b1 * pm[j] + (1.0f - b1) * pg[j];
      pv[j] = b2 * pv[j] + (1.0f - b2) * pg[j] * pg[j];
      pw[j] = pw[j] * decay - lr * (pm[j] / c1) / (std::sqrt(pv[j] / c2) + eps);
    }
  });
}

}  // namespace cubist::ops
