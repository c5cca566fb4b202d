// layer_norm and rms_norm: finite differences, PyTorch, bad inputs, determinism.
#include "autograd/norm.h"
#include "core/parallel.h"
#include "ops/norm.h"
#include "testing.h"

namespace cubist {
namespace {

using testing::expect_close;
using testing::randn;

TEST(LayerNorm, GradcheckWithAffine) {
  Var x(randn({3, 5, 8}, 1, 2.0f), true), w(randn({8}, 2), true), b(randn({8}, 3), true);
  testing::gradcheck([](const std::vector<Var>& v) { return layer_norm(v[0], v[1], v[2]); },
                     {x, w, b});
}

TEST(LayerNorm, GradcheckWithoutAffine) {
  Var x(randn({4, 7}, 4), true);
  testing::gradcheck([](const std::vector<Var>& v) { return layer_norm(v[0], Var(), Var()); }, {x});
}

TEST(LayerNorm, GradcheckWeightOnly) {
  Var x(randn({4, 6}, 5), true), w(randn({6}, 6), true);
  testing::gradcheck([](const std::vector<Var>& v) { return layer_norm(v[0], v[1], Var()); },
                     {x, w});
}

TEST(LayerNorm, MatchesPyTorch) {
  // D = 37 exercises the lane tail; an offset mean checks the two-pass variance.
  Tensor x = testing::rand_uniform({2, 9, 37}, 1, 3.0f, 5.0f), w = randn({37}, 2),
         b = randn({37}, 3), gy = randn({2, 9, 37}, 4);
  auto ref = testing::torch_reference(
      "layer_norm", {{"x", x}, {"weight", w}, {"bias", b}, {"gy", gy}}, {{"eps", "1e-06"}});
  TORCH_OR_SKIP(ref);
  Var vx(x, true), vw(w, true), vb(b, true);
  Var y = layer_norm(vx, vw, vb, 1e-6f);
  y.backward(gy);
  expect_close(y.value(), ref->at("y"), 1e-5f, 1e-5f, "y");
  expect_close(vx.grad(), ref->at("grad_x"), 1e-4f, 1e-4f, "grad x");
  expect_close(vw.grad(), ref->at("grad_weight"), 1e-5f, 1e-5f, "grad weight");
  expect_close(vb.grad(), ref->at("grad_bias"), 1e-5f, 1e-5f, "grad bias");
}

TEST(LayerNorm, NoAffineMatchesPyTorch) {
  Tensor x = randn({5, 64}, 5), gy = randn({5, 64}, 6);
  auto ref = testing::torch_reference("layer_norm", {{"x", x}, {"gy", gy}}, {{"eps", "1e-06"}});
  TORCH_OR_SKIP(ref);
  Var vx(x, true);
  Var y = layer_norm(vx, Var(), Var());
  y.backward(gy);
  expect_close(y.value(), ref->at("y"), 1e-5f, 1e-5f, "y");
  expect_close(vx.grad(), ref->at("grad_x"), 1e-4f, 1e-4f, "grad x");
}

TEST(LayerNorm, BadInputsThrow) {
  const Tensor x = randn({2, 4}, 1);
  EXPECT_THROW(ops::layer_norm(x, randn({5}, 2), Tensor()), Error);
  EXPECT_THROW(ops::layer_norm(x, Tensor(), randn({4, 1}, 2)), Error);
  EXPECT_THROW(ops::layer_norm(x.to(DType::BF16), Tensor(), Tensor()), Error);
  EXPECT_THROW(ops::layer_norm(x.transpose(0, 1), Tensor(), Tensor()), Error);
  EXPECT_THROW(ops::layer_norm(Tensor::empty({3, 0}), Tensor(), Tensor()), Error);
  try {
    ops::layer_norm(x, randn({5}, 2), Tensor());
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer_norm: weight"), std::string::npos) << e.what();
  }
  auto r = ops::layer_norm(x, Tensor(), Tensor());
  EXPECT_THROW(
      ops::layer_norm_backward(randn({2, 5}, 3), x, Tensor(), r.mean, r.rstd, false, false), Error);
}

TEST(RmsNorm, Gradcheck) {
  Var x(randn({3, 2, 8}, 1), true), w(randn({8}, 2), true);
  testing::gradcheck([](const std::vector<Var>& v) { return rms_norm(v[0], v[1]); }, {x, w});
  Var x2(randn({5, 6}, 3), true);
  testing::gradcheck([](const std::vector<Var>& v) { return rms_norm(v[0], Var()); }, {x2});
}

TEST(RmsNorm, MatchesPyTorchPerHead) {
  // QK normalisation: x[S, H, Dh] over Dh.
  Tensor x = randn({6, 4, 40}, 1), w = randn({40}, 2), gy = randn({6, 4, 40}, 3);
  auto ref = testing::torch_reference("rms_norm", {{"x", x}, {"weight", w}, {"gy", gy}},
                                      {{"eps", "1e-06"}});
  TORCH_OR_SKIP(ref);
  Var vx(x, true), vw(w, true);
  Var y = rms_norm(vx, vw, 1e-6f);
  y.backward(gy);
  expect_close(y.value(), ref->at("y"), 1e-5f, 1e-5f, "y");
  expect_close(vx.grad(), ref->at("grad_x"), 1e-4f, 1e-4f, "grad x");
  expect_close(vw.grad(), ref->at("grad_weight"), 1e-5f, 1e-5f, "grad weight");
}

TEST(RmsNorm, BadInputsThrow) {
  const Tensor x = randn({2, 4}, 1);
  EXPECT_THROW(ops::rms_norm(x, randn({3}, 2)), Error);
  EXPECT_THROW(ops::rms_norm(x.to(DType::BF16), Tensor()), Error);
  EXPECT_THROW(ops::rms_norm(x, Tensor(), -1.0f), Error);
}

// The weight gradients are sums over many rows: the chunked reduction must give the same bits
// for any number of threads.
TEST(LayerNorm, BackwardDoesNotDependOnThreadCount) {
  const Tensor x = randn({3000, 48}, 1), w = randn({48}, 2), gy = randn({3000, 48}, 3);
  auto run = [&](int threads) {
    const int before = num_threads();
    set_num_threads(threads);
    auto r = ops::layer_norm(x, w, Tensor());
    auto g = ops::layer_norm_backward(gy, x, w, r.mean, r.rstd, true, true);
    auto q = ops::rms_norm(x, w);
    auto gq = ops::rms_norm_backward(gy, x, w, q.rstd, true);
    set_num_threads(before);
    return std::vector<std::vector<float>>{r.y.to_vector(), g.dx.to_vector(), g.dweight.to_vector(),
                                           g.dbias.to_vector(), gq.dweight.to_vector()};
  };
  EXPECT_EQ(run(1), run(2));
  EXPECT_EQ(run(1), run(5));
}

}  // namespace
}  // namespace cubist
