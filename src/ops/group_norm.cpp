#include "ops/group_norm.h"

#include <cmath>

#include "core/parallel.h"
#include "ops/check.h"

namespace cubist::ops {

namespace {

constexpr const char* kOp = "group_norm";

struct Layout {
  int64_t B, C, G, S;  // S: elements per channel
  int64_t cpg() const { return C / G; }
};

Layout check_args(const Tensor& x, int64_t groups, const Tensor& w) {
  check_f32(kOp, "x", x);
  check_f32(kOp, "w", w);
  CUBIST_CHECK(x.dim() >= 2, kOp, ": x must be [B, C, ...], got shape ", x.shape());
  Layout l{x.size(0), x.size(1), groups, 1};
  for (int d = 2; d < x.dim(); ++d) l.S *= x.size(d);
  CUBIST_CHECK(groups >= 1 && l.C % groups == 0, kOp, ": groups must divide the channel count ",
               l.C, ", got ", groups, " groups");
  CUBIST_CHECK(w.dim() == 1 && w.size(0) == l.C, kOp, ": weight must be [C] = [", l.C, "], got ",
               w.shape());
  return l;
}

// sum_{i < n} f(i) in double: 16 float lanes (vectorised) over blocks of 1024, the blocks summed
// in double. The order depends only on n.
template <typename F>
double block_sum(int64_t n, F&& f) {
  constexpr int64_t kLanes = 16, kBlock = 1024;
  double total = 0;
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t b1 = b0 + kBlock < n ? b0 + kBlock : n;
    float acc[kLanes] = {};
    int64_t i = b0;
    for (; i + kLanes <= b1; i += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) acc[j] += f(i + j);
    for (; i < b1; ++i) acc[0] += f(i);
    double s = 0;
    for (int64_t j = 0; j < kLanes; ++j) s += acc[j];
    total += s;
  }
  return total;
}

}  // namespace

GroupNormOut group_norm(const Tensor& x, int64_t groups, const Tensor& w, const Tensor& b,
                        float eps) {
  const Layout l = check_args(x, groups, w);
  check_f32(kOp, "bias", b);
  CUBIST_CHECK(b.dim() == 1 && b.size(0) == l.C, kOp, ": bias must be [C] = [", l.C, "], got ",
               b.shape());
  GroupNormOut out{Tensor::empty(x.shape()), Tensor::empty({l.B, l.G}), Tensor::empty({l.B, l.G})};
  const float* xp = x.data<float>();
  const float* wp = w.data<float>();
  const float* bp = b.data<float>();
  float* yp = out.y.data<float>();
  float* mp = out.mean.data<float>();
  float* rp = out.rstd.data<float>();
  const int64_t n = l.cpg() * l.S;
  parallel_for(l.B * l.G, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {  // r = b * G + g; the group's elements are contiguous
      const float* xg = xp + r * n;
      const double mean = block_sum(n, [&](int64_t i) { return xg[i]; }) / n;
      const float m = static_cast<float>(mean);
      // Two passes: the variance of x - mean does not lose digits when |mean| >> std.
      const double var = block_sum(n, [&](int64_t i) { return (xg[i] - m) * (xg[i] - m); }) / n;
      const float rstd = static_cast<float>(1.0 / std::sqrt(var + eps));
      mp[r] = m;
      rp[r] = rstd;
      for (int64_t cc = 0; cc < l.cpg(); ++cc) {
        const int64_t c = (r % l.G) * l.cpg() + cc;
        const float scale = rstd * wp[c], shift = bp[c] - m * scale;
        const float* xc = xg + cc * l.S;
        float* yc = yp + r * n + cc * l.S;
        for (int64_t i = 0; i < l.S; ++i) yc[i] = xc[i] * scale + shift;
      }
    }
  });
  return out;
}

GroupNormGrads group_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean,
                                   const Tensor& rstd, int64_t groups, const Tensor& w,
                                   bool need_dx, bool need_affine) {
  const Layout l = check_args(x, groups, w);
  check_f32(kOp, "dy", dy);
  check_same_shape(kOp, dy, x);
  check_f32(kOp, "mean", mean);
  check_f32(kOp, "rstd", rstd);
  CUBIST_CHECK(mean.shape() == (Dims{l.B, l.G}) && rstd.shape() == (Dims{l.B, l.G}), kOp,
               ": mean and rstd must be [B, G] = [", l.B, ", ", l.G, "], got ", mean.shape(),
               " and ", rstd.shape());
  GroupNormGrads out;
  if (need_dx) out.dx = Tensor::empty(x.shape());
  // Per (b, c): A = sum dy, Bsum = sum dy * xhat. They give db, dw and the group means for dx.
  Tensor sums = Tensor::empty({l.B, l.C, 2});
  const float* xp = x.data<float>();
  const float* dyp = dy.data<float>();
  const float* wp = w.data<float>();
  const float* mp = mean.data<float>();
  const float* rp = rstd.data<float>();
  float* sp = sums.data<float>();
  const int64_t n = l.cpg() * l.S;
  parallel_for(l.B * l.G, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float m = mp[r], rs = rp[r];
      double sum_g = 0, sum_gx = 0;  // sum of g and of g * xhat over the group
      for (int64_t cc = 0; cc < l.cpg(); ++cc) {
        const int64_t c = (r % l.G) * l.cpg() + cc, at = r * n + cc * l.S;
        const float* xc = xp + at;
        const float* dc = dyp + at;
        const double a = block_sum(l.S, [&](int64_t i) { return dc[i]; });
        const double bs = block_sum(l.S, [&](int64_t i) { return dc[i] * ((xc[i] - m) * rs); });
        sp[((r / l.G) * l.C + c) * 2] = static_cast<float>(a);
        sp[((r / l.G) * l.C + c) * 2 + 1] = static_cast<float>(bs);
        sum_g += a * wp[c];
        sum_gx += bs * wp[c];
      }
      if (!need_dx) continue;
      const float mg = static_cast<float>(sum_g / n), mgx = static_cast<float>(sum_gx / n);
      for (int64_t cc = 0; cc < l.cpg(); ++cc) {
        const int64_t c = (r % l.G) * l.cpg() + cc, at = r * n + cc * l.S;
        const float* xc = xp + at;
        const float* dc = dyp + at;
        float* dxc = out.dx.data<float>() + at;
        const float wc = wp[c];
        for (int64_t i = 0; i < l.S; ++i) dxc[i] = rs * (dc[i] * wc - mg - (xc[i] - m) * rs * mgx);
      }
    }
  });
  if (need_affine) {
    out.dw = Tensor::empty({l.C});
    out.db = Tensor::empty({l.C});
    float* dwp = out.dw.data<float>();
    float* dbp = out.db.data<float>();
    for (int64_t c = 0; c < l.C; ++c) {
      double a = 0, bs = 0;
      for (int64_t bi = 0; bi < l.B; ++bi) {
        a += sp[(bi * l.C + c) * 2];
        bs += sp[(bi * l.C + c) * 2 + 1];
      }
      dbp[c] = static_cast<float>(a);
      dwp[c] = static_cast<float>(bs);
    }
  }
  return out;
}

}  // namespace cubist::ops
