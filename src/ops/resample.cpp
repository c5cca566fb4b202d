#include "ops/resample.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "ops/check.h"

namespace cubist::ops {

namespace {

constexpr const char* kOp = "resize";

// For one axis: the two inputs and their weights for each output index, and the transpose (for
// each input, the outputs that read it and their weights, outputs ascending) for the backward.
struct AxisMap {
  std::vector<int64_t> i0, i1;
  std::vector<float> w0, w1;
  std::vector<int64_t> t_begin, t_out;  // input i's readers are t_out[t_begin[i] .. t_begin[i+1])
  std::vector<float> t_weight;
};

void transpose_map(AxisMap& a, int64_t n) {
  const int64_t m = static_cast<int64_t>(a.i0.size());
  std::vector<std::vector<std::pair<int64_t, float>>> readers(static_cast<size_t>(n));
  for (int64_t o = 0; o < m; ++o) {
    readers[a.i0[o]].push_back({o, a.w0[o]});
    if (a.w1[o] != 0.0f) readers[a.i1[o]].push_back({o, a.w1[o]});
  }
  a.t_begin.assign(1, 0);
  for (const auto& r : readers) {
    for (const auto& [o, w] : r) {
      a.t_out.push_back(o);
      a.t_weight.push_back(w);
    }
    a.t_begin.push_back(static_cast<int64_t>(a.t_out.size()));
  }
}

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
  transpose_map(a, n);
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

// Linear mode interpolates one axis at a time, per output frame: T (two input frames blended,
// vectorised) into a frame buffer, H (two rows blended, vectorised) into a row buffer, then W.
Tensor resize(const Tensor& x, const Dims& size, ResizeMode mode) {
  check_f32(kOp, "x", x);
  const Geometry g = make_geometry(x.shape(), size, mode);
  Tensor y = Tensor::empty(out_shape(x.shape(), size));
  const int64_t H = g.in[1], W = g.in[2], Ho = g.out[1], Wo = g.out[2];
  const int64_t in_plane = g.in[0] * H * W, out_plane = g.out[0] * Ho * Wo;
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  const AxisMap &at = g.ax[0], &ah = g.ax[1], &aw = g.ax[2];
  parallel_for(g.planes * g.out[0], 1, [&](int64_t r0, int64_t r1) {
    std::vector<float> row(static_cast<size_t>(W)), frame(static_cast<size_t>(H * W));
    for (int64_t r = r0; r < r1; ++r) {  // r = plane * T_out + t
      const int64_t p = r / g.out[0], t = r % g.out[0];
      const float* x0 = xp + p * in_plane + at.i0[t] * H * W;
      const float* x1 = xp + p * in_plane + at.i1[t] * H * W;
      float* yf = yp + p * out_plane + t * Ho * Wo;
      if (mode == ResizeMode::kNearest) {
        for (int64_t h = 0; h < Ho; ++h)
          for (int64_t w = 0; w < Wo; ++w) yf[h * Wo + w] = x0[ah.i0[h] * W + aw.i0[w]];
        continue;
      }
      const float t0 = at.w0[t], t1 = at.w1[t];
      for (int64_t i = 0; i < H * W; ++i) frame[i] = t0 * x0[i] + t1 * x1[i];
      for (int64_t h = 0; h < Ho; ++h) {
        const float* f0 = frame.data() + ah.i0[h] * W;
        const float* f1 = frame.data() + ah.i1[h] * W;
        const float hw0 = ah.w0[h], hw1 = ah.w1[h];
        for (int64_t w = 0; w < W; ++w) row[w] = hw0 * f0[w] + hw1 * f1[w];
        float* yr = yf + h * Wo;
        for (int64_t w = 0; w < Wo; ++w)
          yr[w] = aw.w0[w] * row[aw.i0[w]] + aw.w1[w] * row[aw.i1[w]];
      }
    }
  });
  return y;
}

// The adjoint of resize, parallel over planes; each plane's gradient is gathered in a fixed
// order. Nearest adds each output gradient to the one input it read. Linear applies the adjoint
// of each axis in turn, per output frame: W (each input gathers from the outputs that read it)
// into a row buffer, H (rows added with their weights, vectorised) into a frame buffer, then T
// (frames added with their weights) into dx.
Tensor resize_backward(const Tensor& dy, const Dims& x_shape, ResizeMode mode) {
  check_f32(kOp, "dy", dy);
  Dims size;
  for (int d = 2; d < dy.dim(); ++d) size.push_back(dy.size(d));
  CUBIST_CHECK(dy.dim() == x_shape.size() && dy.size(0) == x_shape[0] && dy.size(1) == x_shape[1],
               kOp, ": dy ", dy.shape(), " does not match the input shape ", x_shape);
  const Geometry g = make_geometry(x_shape, size, mode);
  Tensor dx = Tensor::zeros(x_shape);
  const int64_t H = g.in[1], W = g.in[2], Ho = g.out[1], Wo = g.out[2];
  const int64_t in_plane = g.in[0] * H * W, out_plane = g.out[0] * Ho * Wo;
  const float* dyp = dy.data<float>();
  float* dxp = dx.data<float>();
  const AxisMap &at = g.ax[0], &ah = g.ax[1], &aw = g.ax[2];
  parallel_for(g.planes, 1, [&](int64_t p0, int64_t p1) {
    std::vector<float> row(static_cast<size_t>(W)), frame(static_cast<size_t>(H * W));
    for (int64_t p = p0; p < p1; ++p) {
      for (int64_t t = 0; t < g.out[0]; ++t) {
        float* x0 = dxp + p * in_plane + at.i0[t] * H * W;
        float* x1 = dxp + p * in_plane + at.i1[t] * H * W;
        const float* yf = dyp + p * out_plane + t * Ho * Wo;
        if (mode == ResizeMode::kNearest) {
          for (int64_t h = 0; h < Ho; ++h)
            for (int64_t w = 0; w < Wo; ++w) x0[ah.i0[h] * W + aw.i0[w]] += yf[h * Wo + w];
          continue;
        }
        std::fill(frame.begin(), frame.end(), 0.0f);
        for (int64_t h = 0; h < Ho; ++h) {
          const float* gr = yf + h * Wo;
          for (int64_t w = 0; w < W; ++w) {  // a gather over the outputs that read input w
            float sum = 0;
            for (int64_t k = aw.t_begin[w]; k < aw.t_begin[w + 1]; ++k)
              sum += aw.t_weight[k] * gr[aw.t_out[k]];
            row[w] = sum;
          }
          float* f0 = frame.data() + ah.i0[h] * W;
          float* f1 = frame.data() + ah.i1[h] * W;
          const float hw0 = ah.w0[h], hw1 = ah.w1[h];
          for (int64_t w = 0; w < W; ++w) f0[w] += hw0 * row[w];
          for (int64_t w = 0; w < W; ++w) f1[w] += hw1 * row[w];
        }
        const float t0 = at.w0[t], t1 = at.w1[t];
        for (int64_t i = 0; i < H * W; ++i) x0[i] += t0 * frame[i];
        for (int64_t i = 0; i < H * W; ++i) x1[i] += t1 * frame[i];
      }
    }
  });
  return dx;
}

}  // namespace cubist::ops
