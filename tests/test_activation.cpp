// gelu (tanh approximation), silu, bias + gelu, and softmax.
#include <cmath>

#include "autograd/activation.h"
#include "autograd/softmax.h"
#include "core/parallel.h"
#include "ops/activation.h"
#include "ops/rowwise.h"
#include "ops/softmax.h"
#include "testing.h"

namespace cubist {
namespace {

using testing::expect_close;
using testing::randn;

TEST(ExpApprox, WithinTwoUlpOfExp) {
  float worst = 0.0f;
  for (float x = -87.0f; x < 88.0f; x += 0.0137f) {
    const double e = std::exp(double(x));
    const float ef = static_cast<float>(e);
    const float ulp = std::nextafter(ef, INFINITY) - ef;
    worst = std::max(worst, static_cast<float>(std::fabs(ops::detail::exp_approx(x) - e) / ulp));
  }
  EXPECT_LT(worst, 2.0f);
  EXPECT_EQ(ops::detail::exp_approx(-INFINITY), 0.0f);
  EXPECT_EQ(ops::detail::exp_approx(0.0f), 1.0f);
  EXPECT_TRUE(std::isnan(ops::detail::exp_approx(NAN)));
  EXPECT_TRUE(std::isfinite(ops::detail::exp_approx(INFINITY)));
}

TEST(Gelu, Gradcheck) {
  Var x(randn({4, 9}, 1, 2.0f), true);
  testing::gradcheck([](const std::vector<Var>& v) { return gelu(v[0]); }, {x});
}

TEST(Silu, Gradcheck) {
  Var x(randn({4, 9}, 2, 2.0f), true);
  testing::gradcheck([](const std::vector<Var>& v) { return silu(v[0]); }, {x});
}

TEST(BiasGelu, Gradcheck) {
  Var x(randn({3, 4, 7}, 3), true), b(randn({7}, 4), true);
  testing::gradcheck([](const std::vector<Var>& v) { return bias_gelu(v[0], v[1]); }, {x, b});
}

TEST(Softmax, Gradcheck) {
  Var x(randn({3, 2, 6}, 5, 2.0f), true);
  testing::gradcheck([](const std::vector<Var>& v) { return softmax(v[0]); }, {x});
}

// Inputs spread wide enough to reach both tails (and overflow territory at +-100).
Tensor wide_inputs(const Dims& shape, uint64_t seed) {
  Tensor x = randn(shape, seed, 4.0f);
  float* p = x.data<float>();
  p[0] = 100.0f;
  p[1] = -100.0f;
  p[2] = 0.0f;
  p[3] = 1e-4f;
  return x;
}

TEST(Gelu, MatchesPyTorch) {
  Tensor x = wide_inputs({5, 41}, 1), gy = randn({5, 41}, 2);
  auto ref = testing::torch_reference("gelu_tanh", {{"x", x}, {"gy", gy}});
  TORCH_OR_SKIP(ref);
  Var vx(x, true);
  Var y = gelu(vx);
  y.backward(gy);
  expect_close(y.value(), ref->at("y"), 1e-6f, 1e-6f, "y");
  expect_close(vx.grad(), ref->at("grad_x"), 1e-5f, 1e-6f, "grad x");
}

TEST(Silu, MatchesPyTorch) {
  Tensor x = wide_inputs({5, 41}, 3), gy = randn({5, 41}, 4);
  auto ref = testing::torch_reference("silu", {{"x", x}, {"gy", gy}});
  TORCH_OR_SKIP(ref);
  Var vx(x, true);
  Var y = silu(vx);
  y.backward(gy);
  expect_close(y.value(), ref->at("y"), 1e-6f, 1e-6f, "y");
  expect_close(vx.grad(), ref->at("grad_x"), 1e-5f, 1e-6f, "grad x");
}

TEST(BiasGelu, MatchesPyTorch) {
  Tensor x = randn({2, 10, 35}, 5, 2.0f), b = randn({35}, 6), gy = randn({2, 10, 35}, 7);
  auto ref = testing::torch_reference("bias_gelu", {{"x", x}, {"b", b}, {"gy", gy}});
  TORCH_OR_SKIP(ref);
  Var vx(x, true), vb(b, true);
  Var y = bias_gelu(vx, vb);
  y.backward(gy);
  expect_close(y.value(), ref->at("y"), 1e-6f, 1e-6f, "y");
  expect_close(vx.grad(), ref->at("grad_x"), 1e-5f, 1e-6f, "grad x");
  expect_close(vb.grad(), ref->at("grad_b"), 1e-5f, 1e-5f, "grad b");
}

TEST(Softmax, MatchesPyTorch) {
  Tensor x = randn({4, 3, 50}, 8, 5.0f), gy = randn({4, 3, 50}, 9);
  x.data<float>()[7] = 80.0f;  // would overflow exp without the max subtracted
  auto ref = testing::torch_reference("softmax", {{"x", x}, {"gy", gy}});
  TORCH_OR_SKIP(ref);
  Var vx(x, true);
  Var y = softmax(vx);
  y.backward(gy);
  expect_close(y.value(), ref->at("y"), 1e-5f, 1e-7f, "y");
  expect_close(vx.grad(), ref->at("grad_x"), 1e-5f, 1e-6f, "grad x");
}

TEST(Softmax, MaskedEntriesGetExactlyZero) {
  Tensor x = Tensor::from_vector({1, 4}, {1.0f, -INFINITY, 2.0f, -INFINITY});
  const std::vector<float> y = ops::softmax(x).to_vector();
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[3], 0.0f);
  EXPECT_NEAR(y[0] + y[2], 1.0f, 1e-6f);
}

TEST(Activation, BadInputsThrow) {
  const Tensor x = randn({2, 4}, 1);
  EXPECT_THROW(ops::gelu(x.to(DType::BF16)), Error);
  EXPECT_THROW(ops::gelu_backward(randn({2, 5}, 2), x), Error);
  EXPECT_THROW(ops::silu_backward(x, randn({8}, 2)), Error);
  EXPECT_THROW(ops::bias_gelu(x, randn({5}, 2)), Error);
  EXPECT_THROW(ops::softmax(x.transpose(0, 1)), Error);
  EXPECT_THROW(ops::softmax_backward(randn({2, 3}, 2), x), Error);
  try {
    ops::bias_gelu(x, randn({5}, 2));
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bias_gelu: b must be [4]"), std::string::npos)
        << e.what();
  }
}

TEST(BiasGelu, BackwardDoesNotDependOnThreadCount) {
  const Tensor x = randn({4000, 24}, 1), b = randn({24}, 2), gy = randn({4000, 24}, 3);
  auto run = [&](int threads) {
    const int before = num_threads();
    set_num_threads(threads);
    auto g = ops::bias_gelu_backward(gy, x, b, true);
    set_num_threads(before);
    return g.db.to_vector();
  };
  EXPECT_EQ(run(1), run(2));
  EXPECT_EQ(run(1), run(3));
}

}  // namespace
}  // namespace cubist
