// Three-axis rotary embedding: finite differences, PyTorch, the inverse, bad inputs.
#include <string>

#include "autograd/rope.h"
#include "ops/rope.h"
#include "testing.h"

namespace cubist {
namespace {

// (t, h, w) positions of a T x Hh x W grid, scaled to allow fractional positions.
Tensor grid_positions(int64_t T, int64_t Hh, int64_t W, float step) {
  std::vector<float> p;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < Hh; ++h)
      for (int64_t w = 0; w < W; ++w)
        for (float x : {t * 1.0f, h * step, w * step}) p.push_back(x);
  return Tensor::from_vector({T * Hh * W, 3}, p);
}

TEST(Rope3d, MatchesFiniteDifferences) {
  Var x(testing::randn({6, 2, 12}, 1), true);
  const Tensor pos = grid_positions(2, 3, 1, 0.5f);
  testing::gradcheck(
      [&](const std::vector<Var>& in) {
        return rope3d(in[0], pos, {4, 4, 4}, 100.f);
      },
      {x});
}

TEST(Rope3d, MatchesPyTorch) {
  const Tensor x = testing::randn({60, 3, 32}, 1), gy = testing::randn({60, 3, 32}, 2);
  const Tensor pos = grid_positions(3, 4, 5, 0.75f);
  auto ref = testing::torch_reference("rope3d", {{"x", x}, {"positions", pos}, {"gy", gy}},
                                      {{"sections", "8,12,12"}, {"theta", "10000"}});
  TORCH_OR_SKIP(ref);
  Var vx(x, true);
  Var y = rope3d(vx, pos, {8, 12, 12});
  y.backward(gy);
  testing::expect_close(y.value(), ref->at("y"), 1e-5f, 1e-6f, "y");
  testing::expect_close(vx.grad(), ref->at("grad_x"), 1e-5f, 1e-6f, "grad x");
}

TEST(Rope3d, EmptySectionAndCustomTheta) {
  const Tensor x = testing::randn({12, 1, 8}, 3), gy = testing::randn({12, 1, 8}, 4);
  const Tensor pos = grid_positions(1, 3, 4, 1.0f);
  auto ref = testing::torch_reference("rope3d", {{"x", x}, {"positions", pos}, {"gy", gy}},
                                      {{"sections", "0,4,4"}, {"theta", "500"}});
  TORCH_OR_SKIP(ref);
  Var vx(x, true);
  Var y = rope3d(vx, pos, {0, 4, 4}, 500.0f);
  y.backward(gy);
  testing::expect_close(y.value(), ref->at("y"), 1e-5f, 1e-6f, "y");
  testing::expect_close(vx.grad(), ref->at("grad_x"), 1e-5f, 1e-6f, "grad x");
}

TEST(Rope3d, BackwardInvertsForward) {
  const Tensor x = testing::randn({20, 2, 16}, 5);
  const Tensor pos = testing::rand_uniform({20, 3}, 6, -50.0f, 50.0f);
  const Tensor y = ops::rope3d_forward(x, pos, {4, 6, 6});
  testing::expect_close(ops::rope3d_backward(y, pos, {4, 6, 6}), x, 1e-5f, 1e-5f, "x");
}

TEST(Rope3d, PositionZeroIsIdentity) {
  const Tensor x = testing::randn({4, 2, 6}, 7);
  EXPECT_EQ(ops::rope3d_forward(x, Tensor::zeros({4, 3}), {2, 2, 2}).to_vector(), x.to_vector());
}

void expect_error(const std::function<void()>& fn) {
  try {
    fn();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rope3d"), std::string::npos) << e.what();
  }
}

TEST(Rope3d, BadInputsThrow) {
  const Tensor x = testing::randn({4, 2, 12}, 1), pos = Tensor::zeros({4, 3});
  expect_error([&] { ops::rope3d_forward(x, pos, {4, 4, 2}); });  // sum 10 != 12
  expect_error([&] { ops::rope3d_forward(x, pos, {3, 5, 4}); });  // odd
  expect_error([&] { ops::rope3d_forward(x, Tensor::zeros({5, 3}), {4, 4, 4}); });
  expect_error([&] { ops::rope3d_forward(x, Tensor::zeros({4, 2}), {4, 4, 4}); });
  expect_error([&] { ops::rope3d_forward(x.to(DType::BF16), pos, {4, 4, 4}); });
  expect_error([&] { ops::rope3d_forward(x.reshape({4, 24}), pos, {8, 8, 8}); });
  expect_error([&] { ops::rope3d_forward(x, pos, {4, 4, 4}, -1.0f); });
  expect_error([&] { ops::rope3d_backward(x, pos, {4, 4, 6}); });
}

}  // namespace
}  // namespace cubist
