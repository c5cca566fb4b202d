#include "ops/elementwise.h"

#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "ops/check.h"

namespace cubist::ops {

namespace {
constexpr int64_t kGrain = 1 << 15;

template <typename F>
Tensor binary(const char* op, const Tensor& a, const Tensor& b, F f) {
  check_f32(op, "a", a);
  check_f32(op, "b", b);
  check_same_shape(op, a, b);
  Tensor y = Tensor::empty(a.shape());
  const float *pa = a.data<float>(), *pb = b.data<float>();
  float* py = y.data<float>();
  parallel_for(a.numel(), kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) py[i] = f(pa[i], pb[i]);
  });
  return y;
}

// Sums f(x) over fixed chunks in f64, then the chunks in order: the same result for any
// thread count.
template <typename F>
double reduce(const char* op, const Tensor& a, F f) {
  check_f32(op, "input", a);
  const float* p = a.data<float>();
  const int64_t n = a.numel(), chunks = (n + kGrain - 1) / kGrain;
  std::vector<double> part(static_cast<size_t>(chunks), 0.0);
  parallel_for(chunks, 1, [&](int64_t s, int64_t e) {
    for (int64_t c = s; c < e; ++c) {
      double acc = 0;
      for (int64_t i = c * kGrain, end = std::min(n, i + kGrain); i < end; ++i) acc += f(p[i]);
      part[static_cast<size_t>(c)] = acc;
    }
  });
  double total = 0;
  for (double v : part) total += v;
  return total;
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return binary("add", a, b, [](float x, float y) { return x + y; });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return binary("sub", a, b, [](float x, float y) { return x - y; });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary("mul", a, b, [](float x, float y) { return x * y; });
}

Tensor scale(const Tensor& a, float s) {
  check_f32("scale", "input", a);
  Tensor y = Tensor::empty(a.shape());
  const float* pa = a.data<float>();
  float* py = y.data<float>();
  parallel_for(a.numel(), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) py[i] = s * pa[i];
  });
  return y;
}

void axpy_(Tensor& a, float s, const Tensor& b) {
  check_f32("axpy", "a", a);
  check_f32("axpy", "b", b);
  check_same_shape("axpy", a, b);
  float* pa = a.data<float>();
  const float* pb = b.data<float>();
  parallel_for(a.numel(), kGrain, [&](int64_t x, int64_t e) {
    for (int64_t i = x; i < e; ++i) pa[i] += s * pb[i];
  });
}

void add_(Tensor& a, const Tensor& b) { axpy_(a, 1.0f, b); }

void scale_(Tensor& a, float s) {
  check_f32("scale_", "input", a);
  float* pa = a.data<float>();
  parallel_for(a.numel(), kGrain, [&](int64_t x, int64_t e) {
    for (int64_t i = x; i < e; ++i) pa[i] *= s;
  });
}

double sum(const Tensor& a) {
  return reduce("sum", a, [](float x) { return double(x); });
}
double sum_squares(const Tensor& a) {
  return reduce("sum_squares", a, [](float x) { return double(x) * x; });
}

bool all_finite(const Tensor& a) {
  return reduce("all_finite", a, [](float x) { return std::isfinite(x) ? 0.0 : 1.0; }) == 0.0;
}

Tensor add_bias(const Tensor& x, const Tensor& b) {
  check_f32("add_bias", "x", x);
  check_f32("add_bias", "bias", b);
  CUBIST_CHECK(b.dim() == 1 && x.dim() >= 1 && b.size(0) == x.size(-1), "add_bias: bias ",
               b.shape(), " does not match the last dimension of x ", x.shape());
  Tensor y = Tensor::empty(x.shape());
  const int64_t d = b.size(0), rows = x.numel() / std::max<int64_t>(d, 1);
  const float *px = x.data<float>(), *pb = b.data<float>();
  float* py = y.data<float>();
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(d, 1)),
               [&](int64_t s, int64_t e) {
                 for (int64_t r = s; r < e; ++r)
                   for (int64_t j = 0; j < d; ++j) py[r * d + j] = px[r * d + j] + pb[j];
               });
  return y;
}

Tensor sum_rows(const Tensor& x) {
  check_f32("sum_rows", "x", x);
  CUBIST_CHECK(x.dim() >= 1, "sum_rows: x must have at least one dimension");
  const int64_t d = x.size(-1), rows = x.numel() / std::max<int64_t>(d, 1);
  Tensor y = Tensor::zeros({d});
  const float* px = x.data<float>();
  float* py = y.data<float>();
  // Columns are split among threads; each column sums its rows in order.
  parallel_for(d, 64, [&](int64_t s, int64_t e) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = s; j < e; ++j) py[j] += px[r * d + j];
  });
  return y;
}

}  // namespace cubist::ops
