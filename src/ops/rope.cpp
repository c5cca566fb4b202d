// Three-axis rotary embedding: per token, a table of (cos, sin) for the D/2 pairs, applied to all
// heads. Forward rotates by +phi, backward by -phi (a rotation's inverse is its transpose).
#include "ops/rope.h"

#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "ops/check.h"

namespace cubist::ops {
namespace {

void check_rope(const char* op, const Tensor& x, const Tensor& positions,
                const std::array<int64_t, 3>& sections, float theta) {
  check_f32(op, "x", x);
  check_f32(op, "positions", positions);
  check_dim(op, "x [S, H, D]", x, 3);
  CUBIST_CHECK(positions.dim() == 2 && positions.size(0) == x.size(0) && positions.size(1) == 3, op,
               ": positions must have shape [S, 3] = [", x.size(0),
               ", 3] (t, h, w per token), got ", positions.shape());
  int64_t sum = 0;
  for (int64_t d : sections) {
    CUBIST_CHECK(d >= 0 && d % 2 == 0, op, ": sections must be even and non-negative, got {",
                 sections[0], ", ", sections[1], ", ", sections[2], "}");
    sum += d;
  }
  CUBIST_CHECK(sum == x.size(2), op, ": sections {", sections[0], ", ", sections[1], ", ",
               sections[2], "} sum to ", sum, " but the head dim of x ", x.shape(), " is ",
               x.size(2));
  CUBIST_CHECK(theta > 0.0f && std::isfinite(theta), op, ": theta must be positive, got ", theta);
}

// sign = +1 rotates by phi (forward), -1 by -phi (backward).
Tensor rotate(const char* op, const Tensor& x, const Tensor& positions,
              const std::array<int64_t, 3>& sections, float theta, float sign) {
  check_rope(op, x, positions, sections, theta);
  const int64_t S = x.size(0), H = x.size(1), D = x.size(2), half = D / 2;
  // Per pair: which axis, and the frequency theta^(-2i / d_a).
  std::vector<int> axis(static_cast<size_t>(half));
  std::vector<double> freq(static_cast<size_t>(half));
  for (int64_t a = 0, pair = 0; a < 3; ++a)
    for (int64_t i = 0; i < sections[a] / 2; ++i, ++pair) {
      axis[static_cast<size_t>(pair)] = static_cast<int>(a);
      freq[static_cast<size_t>(pair)] =
          std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) / sections[a]);
    }
  Tensor y = Tensor::empty(x.shape());
  const float* xs = x.data<float>();
  const float* pos = positions.data<float>();
  float* ys = y.data<float>();
  parallel_for(S, 64, [&](int64_t b, int64_t e) {
    std::vector<float> cs(static_cast<size_t>(2 * half));  // cos, sin per pair: once per chunk
    for (int64_t t = b; t < e; ++t) {
      for (int64_t i = 0; i < half; ++i) {
        const double phi = pos[t * 3 + axis[static_cast<size_t>(i)]] * freq[static_cast<size_t>(i)];
        cs[static_cast<size_t>(2 * i)] = static_cast<float>(std::cos(phi));
        cs[static_cast<size_t>(2 * i + 1)] = sign * static_cast<float>(std::sin(phi));
      }
      for (int64_t h = 0; h < H; ++h) {
        const float* xr = xs + (t * H + h) * D;
        float* yr = ys + (t * H + h) * D;
        for (int64_t i = 0; i < half; ++i) {
          const float c = cs[static_cast<size_t>(2 * i)], s = cs[static_cast<size_t>(2 * i + 1)];
          const float x0 = xr[2 * i], x1 = xr[2 * i + 1];
          yr[2 * i] = x0 * c - x1 * s;
          yr[2 * i + 1] = x0 * s + x1 * c;
        }
      }
    }
  });
  return y;
}

}  // namespace

Tensor rope3d_forward(const Tensor& x, const Tensor& positions,
                      const std::array<int64_t, 3>& sections, float theta) {
  return rotate("rope3d_forward", x, positions, sections, theta, 1.0f);
}

Tensor rope3d_backward(const Tensor& dy, const Tensor& positions,
                       const std::array<int64_t, 3>& sections, float theta) {
  return rotate("rope3d_backward", dy, positions, sections, theta, -1.0f);
}

}  // namespace cubist::ops
