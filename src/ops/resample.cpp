#include "ops/resample.h"

#include <cmath>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "ops/check.h"

namespace cubist::ops {

namespace {

constexpr const char* kOp = "resize";

// For one axis: the two inputs and their weights for each output index.
struct AxisMap {
  std::vector<int64_t> i0, i1;
  std::vector<float> w0, w1;
};

AxisMap axis_map(int64_t n, int64_t m, ResizeMode mode) {
  AxisMap a;
  a.i0.resize(m), a.i1.resize(m), a.w0.resize(m), a.w1.resize(m);
  const float scale = static_cast<float>(n) / static_cast<float>(m);
  for (int64_t i = 0; i < m; ++i) {
    if (mode == ResizeMode::kNearest) {
      const int64_t s = static_cast<int64_t>(std::floor(static_cast<float>(i) * scale));
      a.i0[i] = a.i1[i] = std::min(s, n - 1);
      a.w0[i] = 1.0f, a.w1[i] = 0.0f;
      continue;
    }
    const float src = std::max(scale * (static_cast<float>(i) + 0.5f) - 0.5f, 0.0f);
    const int64_t i0 = std::min(static_cast<int64_t>(src), n - 1);
    const float l1 = src - static_cast<float>(i0);
    a.i0[i] = i0;
    a.i1[i] = i0 < n - 1 ? i0 + 1 : i0;
    a.w0[i] = 1.0f - l1, a.w1[i] = l1;
  }
  return a;
}

// The sizes as [planes, T, H, W] in and out, with missing spatial axes of length 1.
struct Geometry {
  int64_t planes;
  int64_t in[3], out[3];
  AxisMap ax[3];
};

Geometry make_geometry(const Dims& x, const Dims& size, ResizeMode mode) {
  CUBIST_CHECK(x.size() >= 3 && x.size() <= 5, kOp,
               ": x must be [B, C, L], [B, C, H, W] or [B, C, T, H, W], got shape ", x);
  const int sd = x.size() - 2;
  CUBIST_CHECK(size.size() == sd, kOp, ": size must give one length per spatial dimension (", sd,
               " for x of shape ", x, "), got ", size);
  Geometry g{};
  g.planes = x[0] * x[1];
  for (int a = 0; a < 3; ++a) {
    const int d = a - (3 - sd);  // index into the spatial dims, negative for a missing axis
    g.in[a] = d < 0 ? 1 : x[2 + d];
    g.out[a] = d < 0 ? 1 : size[d];
    CUBIST_CHECK(g.in[a] >= 1 && g.out[a] >= 1, kOp, ": sizes must be >= 1, got x ", x,
                 " and size ", size);
    g.ax[a] = axis_map(g.in[a], g.out[a], mode);
  }
  return g;
}

Dims out_shape(const Dims& x, const Dims& size) {
  Dims o{x[0], x[1]};
  for (int64_t s : size) o.push_back(s);
  return o;
}

}  // namespace

Tensor resize(const Tensor& x, const Dims& size, ResizeMode mode) {
  check_f32(kOp, "x", x);
  const Geometry g = make_geometry(x.shape(), size, mode);
  Tensor y = Tensor::empty(out_shape(x.shape(), size));
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  const AxisMap &at = g.ax[0], &ah = g.ax[1], &aw = g.ax[2];
  const int64_t H = g.in[1], W = g.in[2];
  parallel_for(g.planes * g.out[0], 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {  // r = plane * T_out + t
      const int64_t p = r / g.out[0], t = r % g.out[0];
      const float* x0 = xp + p * in_plane + at.i0[t] * H * W;
      const float* x1 = xp + p * in_plane + at.i1[t] * H * W;
      float* yr = yp + p * out_plane + t * g.out[1] * g.out[2];
      for (int64_t h = 0; h < g.out[1]; ++h) {
        const int64_t h0 = ah.i0[h] * W, h1 = ah.i1[h] * W;
        float* yrow = yr + h * g.out[2];
        if (mode == ResizeMode::kNearest) {
          for (int64_t w = 0; w < g.out[2]; ++w) yrow[w] = x0[h0 + aw.i0[w]];
          continue;
        }
        const float t0 = at.w0[t], t1 = at.w1[t], hw0 = ah.w0[h], hw1 = ah.w1[h];
        for (int64_t w = 0; w < g.out[2]; ++w) {
          const int64_t w0 = aw.i0[w], w1 = aw.i1[w];
          const float a0 = aw.w0[w], a1 = aw.w1[w];
          const float f0 = hw0 * (a0 * x0[h0 + w0] + a1 * x0[h0 + w1]) +
                           hw1 * (a0 * x0[h1 + w0] + a1 * x0[h1 + w1]);
          const float f1 = hw0 * (a0 * x1[h0 + w0] + a1 * x1[h0 + w1]) +
                           hw1 * (a0 * x1[h1 + w0] + a1 * x1[h1 + w1]);
          yrow[w] = t0 * f0 + t1 * f1;
        }
      }
    }
  });
  return y;
}

// The adjoint of resize: parallel over planes, each plane's outputs scattered in a fixed order.
Tensor resize_backward(const Tensor& dy, const Dims& x_shape, ResizeMode mode) {
  check_f32(kOp, "dy", dy);
  Dims size;
  for (int d = 2; d < dy.dim(); ++d) size.push_back(dy.size(d));
  CUBIST_CHECK(dy.dim() == x_shape.size() && dy.size(0) == x_shape[0] && dy.size(1) == x_shape[1],
               kOp, ": dy ", dy.shape(), " does not match the input shape ", x_shape);
  const Geometry g = make_geometry(x_shape, size, mode);
  Tensor dx = Tensor::zeros(x_shape);
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  const float* dyp = dy.data<float>();
  float* dxp = dx.data<float>();
  const AxisMap &at = g.ax[0], &ah = g.ax[1], &aw = g.ax[2];
  const int64_t H = g.in[1], W = g.in[2];
  parallel_for(g.planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      for (int64_t t = 0; t < g.out[0]; ++t) {
        float* x0 = dxp + p * in_plane + at.i0[t] * H * W;
        float* x1 = dxp + p * in_plane + at.i1[t] * H * W;
        const float* yr = dyp + p * out_plane + t * g.out[1] * g.out[2];
        for (int64_t h = 0; h < g.out[1]; ++h) {
          const int64_t h0 = ah.i0[h] * W, h1 = ah.i1[h] * W;
          const float* grow = yr + h * g.out[2];
          if (mode == ResizeMode::kNearest) {
            for (int64_t w = 0; w < g.out[2]; ++w) x0[h0 + aw.i0[w]] += grow[w];
            continue;
          }
          const float t0 = at.w0[t], t1 = at.w1[t], hw0 = ah.w0[h], hw1 = ah.w1[h];
          for (int64_t w = 0; w < g.out[2]; ++w) {
            const int64_t w0 = aw.i0[w], w1 = aw.i1[w];
            const float a0 = aw.w0[w] * grow[w], a1 = aw.w1[w] * grow[w];
            x0[h0 + w0] += t0 * hw0 * a0;
            x0[h0 + w1] += t0 * hw0 * a1;
            x0[h1 + w0] += t0 * hw1 * a0;
            x0[h1 + w1] += t0 * hw1 * a1;
            x1[h0 + w0] += t1 * hw0 * a0;
            x1[h0 + w1] += t1 * hw0 * a1;
            x1[h1 + w0] += t1 * hw1 * a0;
            x1[h1 + w1] += t1 * hw1 * a1;
          }
        }
      }
    }
  });
  return dx;
}

}  // namespace cubist::ops
