#include "ops/loss.h"

#include <cmath>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "ops/check.h"

namespace cubist::ops {

namespace {

constexpr int64_t kGrain = 1 << 15;

struct NonFinite {
  int64_t count = 0;
  int64_t first = -1;  // index of the first non-finite element
  float first_value = 0.0f;
};

NonFinite find_non_finite(const float* p, int64_t n) {
  const int64_t chunks = (n + kGrain - 1) / kGrain;
  std::vector<NonFinite> part(static_cast<size_t>(chunks));
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      NonFinite& r = part[static_cast<size_t>(c)];
      for (int64_t i = c * kGrain, e = std::min(n, i + kGrain); i < e; ++i) {
        if (std::isfinite(p[i])) continue;
        if (r.count++ == 0) {
          r.first = i;
          r.first_value = p[i];
        }
      }
    }
  });
  NonFinite total;
  for (const NonFinite& r : part) {
    if (r.count && total.count == 0) {
      total.first = r.first;
      total.first_value = r.first_value;
    }
    total.count += r.count;
  }
  return total;
}

std::string value_name(float v) { return std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"); }

// "" when t is all finite; otherwise what is wrong with it, as a phrase.
std::string describe_non_finite(const Tensor& t) {
  const Tensor f = t.dtype() == DType::F32 ? t.contiguous() : t.to(DType::F32).contiguous();
  const NonFinite r = find_non_finite(f.data<float>(), f.numel());
  if (r.count == 0) return "";
  if (f.numel() == 1) return "is " + value_name(r.first_value);
  return detail::concat("has ", r.count, " non-finite values of ", f.numel(), " (first: element ",
                        r.first, " is ", value_name(r.first_value), ")");
}

void check_pair(const char* op, const Tensor& pred, const Tensor& target) {
  check_f32(op, "pred", pred);
  check_f32(op, "target", target);
  check_same_shape(op, pred, target);
}

}  // namespace

void check_finite(const Tensor& t, const char* what) {
  CUBIST_CHECK(t.defined(), what, " is undefined");
  const std::string bad = describe_non_finite(t);
  CUBIST_CHECK(bad.empty(), what, " ", bad, " (", t.str(), ")");
}

Tensor mse_loss(const Tensor& pred, const Tensor& target) {
  check_pair("mse_loss", pred, target);
  const int64_t n = pred.numel();
  CUBIST_CHECK(n > 0, "mse_loss: pred and target are empty ", pred.shape(),
               "; the mean of no values is undefined");
  const float *pp = pred.data<float>(), *pt = target.data<float>();
  // f64 partial sums over fixed chunks, added in chunk order: the same for any thread count.
  const int64_t chunks = (n + kGrain - 1) / kGrain;
  std::vector<double> part(static_cast<size_t>(chunks), 0.0);
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double acc = 0.0;
      for (int64_t i = c * kGrain, e = std::min(n, i + kGrain); i < e; ++i) {
        const double diff = double(pp[i]) - double(pt[i]);
        acc += diff * diff;
      }
      part[static_cast<size_t>(c)] = acc;
    }
  });
  double total = 0.0;
  for (double v : part) total += v;
  const float loss = static_cast<float>(total / static_cast<double>(n));
  if (!std::isfinite(loss)) [[unlikely]] {
    const std::string bp = describe_non_finite(pred), bt = describe_non_finite(target);
    std::string why;
    if (!bp.empty()) why += "pred " + bp;
    if (!bt.empty()) why += (why.empty() ? "" : "; ") + ("target " + bt);
    if (why.empty())
      why = "pred and target are finite: the mean of squared differences overflows f32";
    fail("mse_loss: the loss is ", value_name(loss), " (", why, ")");
  }
  return Tensor::full({}, loss);
}

MseLossGrads mse_loss_backward(const Tensor& g, const Tensor& pred, const Tensor& target,
                               bool need_dpred, bool need_dtarget) {
  const char* op = "mse_loss_backward";
  check_pair(op, pred, target);
  CUBIST_CHECK(g.defined() && g.numel() == 1, op, ": the loss gradient must have one element, got ",
               g.defined() ? g.str() : std::string("undefined"));
  const int64_t n = pred.numel();
  // d/dpred mean((pred - target)^2) = 2 (pred - target) / n, and the opposite for target.
  const float c = 2.0f * g.item() / static_cast<float>(n);
  MseLossGrads r{need_dpred ? Tensor::empty(pred.shape()) : Tensor(),
                 need_dtarget ? Tensor::empty(pred.shape()) : Tensor()};
  const float *pp = pred.data<float>(), *pt = target.data<float>();
  float* dp = need_dpred ? r.dpred.data<float>() : nullptr;
  float* dt = need_dtarget ? r.dtarget.data<float>() : nullptr;
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    if (dp)
      for (int64_t i = s; i < e; ++i) dp[i] = c * (pp[i] - pt[i]);
    if (dt)
      for (int64_t i = s; i < e; ++i) dt[i] = -c * (pp[i] - pt[i]);
  });
  return r;
}

}  // namespace cubist::ops
