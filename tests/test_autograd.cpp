// The autograd engine: gradients of composed ops, accumulation, NoGrad, checkpointing.
#include "autograd/basic.h"
#include "core/allocator.h"
#include "testing.h"

namespace cubist {
namespace {

TEST(Autograd, ComposedArithmeticMatchesFiniteDifferences) {
  Var a(testing::randn({3, 4}, 1), true), b(testing::randn({3, 4}, 2), true);
  Var c(testing::randn({4}, 3), true);
  testing::gradcheck(
      [](const std::vector<Var>& v) {
        Var y = add_bias(mul(v[0], v[1]), v[2]);
        return scale(sub(y, mul(y, v[0])), 0.5f);  // a is used twice: gradients must add up
      },
      {a, b, c});
}

TEST(Autograd, ViewsMatchFiniteDifferences) {
  Var a(testing::randn({2, 3, 4}, 1), true), b(testing::randn({3, 2, 2}, 2), true);
  testing::gradcheck(
      [](const std::vector<Var>& v) {
        Var p = permute(v[0], {2, 0, 1});
        Var s = slice(transpose(p, 0, 2), 2, 1, 3);
        return reshape(concat({s, v[1]}, 2), {6, 2, 2});
      },
      {a, b});
}

TEST(Autograd, MatchesPyTorch) {
  Tensor a = testing::randn({5, 6}, 1), b = testing::randn({5, 6}, 2),
         c = testing::randn({5, 6}, 3);
  Tensor gy = testing::randn({5, 6}, 4);
  auto ref = testing::torch_reference("mul_add", {{"a", a}, {"b", b}, {"c", c}, {"gy", gy}});
  TORCH_OR_SKIP(ref);
  Var va(a, true), vb(b, true), vc(c, true);
  Var y = add(mul(va, vb), vc);
  y.backward(gy);
  testing::expect_close(y.value(), ref->at("y"), 1e-6f, 1e-6f, "y");
  testing::expect_close(va.grad(), ref->at("grad_a"), 1e-6f, 1e-6f, "grad a");
  testing::expect_close(vb.grad(), ref->at("grad_b"), 1e-6f, 1e-6f, "grad b");
  testing::expect_close(vc.grad(), ref->at("grad_c"), 1e-6f, 1e-6f, "grad c");
}

TEST(Autograd, LeafGradientsAccumulateAcrossPasses) {
  Var a(Tensor::full({2}, 3.0f), true);
  sum(scale(a, 2.0f)).backward();
  sum(scale(a, 2.0f)).backward();
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{4.0f, 4.0f}));
}

TEST(Autograd, NoGradRecordsNothing) {
  Var a(testing::randn({8}, 1), true);
  NoGrad no_grad;
  Var y = mul(a, a);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_THROW(y.backward(Tensor::full({8}, 1.0f)), Error);
}

TEST(Autograd, CheckpointGivesTheSameGradients) {
  Tensor x0 = testing::randn({4, 5}, 1), w0 = testing::randn({4, 5}, 2);
  auto block = [](const Var& x, const Var& w) { return mul(add(mul(x, w), x), w); };
  Var x1(x0, true), w1(w0, true);
  sum(block(x1, w1)).backward();
  Var x2(x0, true), w2(w0, true);
  sum(checkpoint([&](const std::vector<Var>& in) { return block(in[0], w2); }, {x2})).backward();
  EXPECT_EQ(x1.grad().to_vector(), x2.grad().to_vector());
  EXPECT_EQ(w1.grad().to_vector(), w2.grad().to_vector());
}

TEST(Autograd, CheckpointKeepsLessMemoryAlive) {
  Var w(testing::randn({256, 256}, 2), true);
  auto chain = [&](const Var& x) {
    Var h = x;
    for (int i = 0; i < 8; ++i) h = mul(h, w);
    return h;
  };
  auto peak_after_forward = [&](bool ckpt) {
    Var x(testing::randn({256, 256}, 1), true);
    Allocator::cpu().reset_peak();
    const size_t base = Allocator::cpu().stats().bytes_in_use;
    Var y =
        ckpt ? checkpoint([&](const std::vector<Var>& in) { return chain(in[0]); }, {x}) : chain(x);
    return Allocator::cpu().stats().bytes_in_use - base;
  };
  const size_t plain = peak_after_forward(false), ckpt = peak_after_forward(true);
  EXPECT_LT(ckpt * 4, plain) << "checkpointed " << ckpt << " bytes vs " << plain;
}

}  // namespace
}  // namespace cubist
