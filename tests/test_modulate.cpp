// adaLN modulation: modulate, gate_residual and the fused layer_norm_modulate.
#include "autograd/modulate.h"
#include "autograd/norm.h"
#include "core/parallel.h"
#include "ops/modulate.h"
#include "testing.h"

namespace cubist {
namespace {

using testing::expect_close;
using testing::randn;

TEST(Modulate, Gradcheck) {
  Var x(randn({2, 3, 5}, 1), true), sh(randn({2, 5}, 2), true), sc(randn({2, 5}, 3), true);
  testing::gradcheck([](const std::vector<Var>& v) { return modulate(v[0], v[1], v[2]); },
                     {x, sh, sc});
}

TEST(GateResidual, Gradcheck) {
  Var x(randn({2, 3, 5}, 1), true), g(randn({2, 5}, 2), true), y(randn({2, 3, 5}, 3), true);
  testing::gradcheck([](const std::vector<Var>& v) { return gate_residual(v[0], v[1], v[2]); },
                     {x, g, y});
}

TEST(LayerNormModulate, Gradcheck) {
  Var x(randn({2, 4, 6}, 1, 2.0f), true), sh(randn({2, 6}, 2), true), sc(randn({2, 6}, 3), true);
  testing::gradcheck(
      [](const std::vector<Var>& v) { return layer_norm_modulate(v[0], v[1], v[2]); }, {x, sh, sc});
}

TEST(Modulate, MatchesPyTorch) {
  Tensor x = randn({3, 7, 33}, 1), sh = randn({3, 33}, 2), sc = randn({3, 33}, 3),
         gy = randn({3, 7, 33}, 4);
  auto ref =
      testing::torch_reference("modulate", {{"x", x}, {"shift", sh}, {"scale", sc}, {"gy", gy}});
  TORCH_OR_SKIP(ref);
  Var vx(x, true), vsh(sh, true), vsc(sc, true);
  Var y = modulate(vx, vsh, vsc);
  y.backward(gy);
  expect_close(y.value(), ref->at("y"), 1e-6f, 1e-6f, "y");
  expect_close(vx.grad(), ref->at("grad_x"), 1e-6f, 1e-6f, "grad x");
  expect_close(vsh.grad(), ref->at("grad_shift"), 1e-5f, 1e-5f, "grad shift");
  expect_close(vsc.grad(), ref->at("grad_scale"), 1e-5f, 1e-5f, "grad scale");
}

TEST(GateResidual, MatchesPyTorch) {
  Tensor x = randn({2, 9, 20}, 1), g = randn({2, 20}, 2), y = randn({2, 9, 20}, 3),
         gy = randn({2, 9, 20}, 4);
  auto ref =
      testing::torch_reference("gate_residual", {{"x", x}, {"gate", g}, {"y", y}, {"gy", gy}});
  TORCH_OR_SKIP(ref);
  Var vx(x, true), vg(g, true), vy(y, true);
  Var out = gate_residual(vx, vg, vy);
  out.backward(gy);
  expect_close(out.value(), ref->at("out"), 1e-6f, 1e-6f, "out");
  expect_close(vx.grad(), ref->at("grad_x"), 1e-6f, 1e-6f, "grad x");
  expect_close(vg.grad(), ref->at("grad_gate"), 1e-5f, 1e-5f, "grad gate");
  expect_close(vy.grad(), ref->at("grad_y"), 1e-6f, 1e-6f, "grad y");
}

TEST(LayerNormModulate, MatchesPyTorch) {
  Tensor x = randn({2, 11, 48}, 1, 3.0f), sh = randn({2, 48}, 2), sc = randn({2, 48}, 3),
         gy = randn({2, 11, 48}, 4);
  auto ref = testing::torch_reference("layer_norm_modulate",
                                      {{"x", x}, {"shift", sh}, {"scale", sc}, {"gy", gy}},
                                      {{"eps", "1e-06"}});
  TORCH_OR_SKIP(ref);
  Var vx(x, true), vsh(sh, true), vsc(sc, true);
  Var y = layer_norm_modulate(vx, vsh, vsc, 1e-6f);
  y.backward(gy);
  expect_close(y.value(), ref->at("y"), 1e-5f, 1e-5f, "y");
  expect_close(vx.grad(), ref->at("grad_x"), 1e-4f, 1e-4f, "grad x");
  expect_close(vsh.grad(), ref->at("grad_shift"), 1e-5f, 1e-5f, "grad shift");
  expect_close(vsc.grad(), ref->at("grad_scale"), 1e-5f, 1e-5f, "grad scale");
}

TEST(LayerNormModulate, AgreesWithTheUnfusedOps) {
  Tensor x = randn({2, 5, 24}, 1), sh = randn({2, 24}, 2), sc = randn({2, 24}, 3),
         gy = randn({2, 5, 24}, 4);
  Var x1(x, true), sh1(sh, true), sc1(sc, true), x2(x, true), sh2(sh, true), sc2(sc, true);
  Var fused = layer_norm_modulate(x1, sh1, sc1);
  Var plain = modulate(layer_norm(x2, Var(), Var()), sh2, sc2);
  fused.backward(gy);
  plain.backward(gy);
  expect_close(fused.value(), plain.value(), 1e-6f, 1e-6f, "y");
  expect_close(x1.grad(), x2.grad(), 1e-5f, 1e-5f, "grad x");
  expect_close(sh1.grad(), sh2.grad(), 1e-6f, 1e-6f, "grad shift");
  expect_close(sc1.grad(), sc2.grad(), 1e-5f, 1e-5f, "grad scale");
}

TEST(Modulate, BadInputsThrow) {
  const Tensor x = randn({2, 3, 4}, 1), v = randn({2, 4}, 2);
  EXPECT_THROW(ops::modulate(x, randn({3, 4}, 3), v), Error);
  EXPECT_THROW(ops::modulate(x, v, randn({2, 5}, 3)), Error);
  EXPECT_THROW(ops::modulate(x, v, v.to(DType::BF16)), Error);
  EXPECT_THROW(ops::modulate(randn({4}, 1), v, v), Error);
  EXPECT_THROW(ops::gate_residual(x, v, randn({2, 3, 5}, 3)), Error);
  EXPECT_THROW(ops::layer_norm_modulate(x, v, randn({4}, 3)), Error);
  try {
    ops::modulate(x, randn({3, 4}, 3), v);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("modulate: shift must be [B, D]"), std::string::npos)
        << e.what();
  }
}

TEST(Modulate, BackwardDoesNotDependOnThreadCount) {
  const Tensor x = randn({2, 1500, 40}, 1), v = randn({2, 40}, 2), gy = randn({2, 1500, 40}, 3);
  auto run = [&](int threads) {
    const int before = num_threads();
    set_num_threads(threads);
    auto m = ops::modulate_backward(gy, x, v, true, true, true);
    auto g = ops::gate_residual_backward(gy, v, x, true, true);
    auto f = ops::layer_norm_modulate(x, v, v);
    auto fg = ops::layer_norm_modulate_backward(gy, x, v, f.mean, f.rstd, true, true);
    set_num_threads(before);
    return std::vector<std::vector<float>>{m.dshift.to_vector(),  m.dscale.to_vector(),
                                           g.dgate.to_vector(),   fg.dx.to_vector(),
                                           fg.dshift.to_vector(), fg.dscale.to_vector()};
  };
  EXPECT_EQ(run(1), run(2));
  EXPECT_EQ(run(1), run(3));
}

}  // namespace
}  // namespace cubist
