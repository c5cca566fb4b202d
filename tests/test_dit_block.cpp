// The DiT block as a whole: finite-difference gradients through every op it composes,
// adaLN-Zero starting as the identity, recomputation, and a training step that allocates nothing
// new after the first.
#include "autograd/basic.h"
#include "core/allocator.h"
#include "models/dit/block.h"
#include "testing.h"
#include "train/adamw.h"

namespace cubist {
namespace {

Tensor positions(int64_t b, int64_t n) {
  Tensor p = Tensor::empty({b * n, 3});
  for (int64_t i = 0; i < b * n; ++i) {
    p.data<float>()[3 * i] = float(i % n / 4);
    p.data<float>()[3 * i + 1] = float(i % n % 4 / 2);
    p.data<float>()[3 * i + 2] = float(i % 2);
  }
  return p;
}

// Gives the zero-initialised modulation random weights, so that every path carries gradient.
void randomise(DiTBlock& block, uint64_t seed) {
  for (NamedParam& p : block.parameters()) {
    Tensor r = testing::randn(p.var.shape(), seed++, 0.3f);
    p.var.value().copy_(r);
  }
}

TEST(DiTBlock, StartsAsTheIdentity) {
  Generator gen(1);
  DiTBlock block({.hidden = 16, .heads = 2}, gen);
  Var x(testing::randn({2, 6, 16}, 2)), c(testing::randn({2, 16}, 3));
  Var y = block.forward(x, c, positions(2, 6));
  EXPECT_EQ(y.value().to_vector(), x.value().to_vector());
}

TEST(DiTBlock, GradientsMatchFiniteDifferences) {
  Generator gen(1);
  DiTBlock block({.hidden = 8, .heads = 2, .mlp_ratio = 2.0f}, gen);
  randomise(block, 10);
  const Tensor pos = positions(2, 5);
  Var x(testing::randn({2, 5, 8}, 2), true), c(testing::randn({2, 8}, 3), true);
  std::vector<Var> inputs{x, c};
  const std::vector<NamedParam> params = block.parameters();
  for (const NamedParam& p : params) inputs.push_back(p.var);
  testing::gradcheck([&](const std::vector<Var>& v) { return block.forward(v[0], v[1], pos); },
                     inputs, {.eps = 1e-2f, .rtol = 5e-2f, .atol = 5e-3f, .max_elements = 6});
}

TEST(DiTBlock, CheckpointingGivesTheSameGradients) {
  Generator gen(1);
  DiTBlock block({.hidden = 16, .heads = 2}, gen);
  randomise(block, 10);
  const Tensor pos = positions(1, 9);
  const Tensor x0 = testing::randn({1, 9, 16}, 2), c0 = testing::randn({1, 16}, 3);
  auto grads = [&](bool ckpt) {
    for (NamedParam& p : block.parameters()) p.var.grad() = Tensor();
    Var x(x0, true), c(c0, true);
    Var y = ckpt ? checkpoint(
                       [&](const std::vector<Var>& in) { return block.forward(in[0], in[1], pos); },
                       {x, c})
                 : block.forward(x, c, pos);
    sum(y).backward();
    std::vector<std::vector<float>> g{x.grad().to_vector()};
    for (NamedParam& p : block.parameters()) g.push_back(p.var.grad().to_vector());
    return g;
  };
  EXPECT_EQ(grads(false), grads(true));
}

TEST(DiTBlock, TrainingStepAllocatesNothingNewAfterTheFirst) {
  Generator gen(1);
  DiTBlock block({.hidden = 32, .heads = 4}, gen);
  AdamW opt(block.parameters(), {.lr = 1e-3f});
  const Tensor pos = positions(2, 16);
  Var x(testing::randn({2, 16, 32}, 2)), c(testing::randn({2, 32}, 3));
  auto step = [&] {
    Var y = block.forward(x, c, pos);
    sum(mul(y, y)).backward();
    clip_grad_norm(opt.params(), 1.0f);
    opt.step();
    opt.zero_grad();
  };
  step();
  step();
  const uint64_t before = Allocator::cpu().stats().system_allocs;
  for (int i = 0; i < 3; ++i) step();
  EXPECT_EQ(Allocator::cpu().stats().system_allocs, before);
}

}  // namespace
}  // namespace cubist
