// Embedding lookup: finite differences, PyTorch, repeated indices, out-of-range indices.
#include "autograd/embedding.h"
#include "core/parallel.h"
#include "ops/embedding.h"
#include "testing.h"

namespace cubist {
namespace {

using testing::expect_close;
using testing::randn;

TEST(Embedding, Gradcheck) {
  Var table(randn({6, 5}, 1), true);
  const std::vector<int32_t> idx = {3, 0, 3, 5, 1, 3};  // repeats must add up
  testing::gradcheck([&](const std::vector<Var>& v) { return embedding(v[0], idx); }, {table});
}

TEST(Embedding, MatchesPyTorch) {
  const std::vector<int32_t> idx = {7, 2, 2, 0, 9, 7, 7, 4, 1, 2, 3};
  Tensor table = randn({10, 19}, 1), gy = randn({11, 19}, 2);
  std::vector<float> idx_f(idx.begin(), idx.end());
  Tensor idx_t = Tensor::from_vector({11}, idx_f);
  auto ref =
      testing::torch_reference("embedding", {{"table", table}, {"indices", idx_t}, {"gy", gy}});
  TORCH_OR_SKIP(ref);
  Var vt(table, true);
  Var y = embedding(vt, idx);
  y.backward(gy);
  expect_close(y.value(), ref->at("y"), 0.0f, 0.0f, "y");
  expect_close(vt.grad(), ref->at("grad_table"), 1e-6f, 1e-6f, "grad table");
}

TEST(Embedding, EmptyIndicesGiveAnEmptyResultAndZeroGradient) {
  Var table(randn({4, 3}, 1), true);
  Var y = embedding(table, std::vector<int32_t>{});
  EXPECT_EQ(y.shape(), (Dims{0, 3}));
  EXPECT_EQ(ops::embedding_backward(Tensor::empty({0, 3}), {}, 4).to_vector(),
            std::vector<float>(12, 0.0f));
}

TEST(Embedding, BadInputsThrow) {
  const Tensor table = randn({5, 3}, 1);
  EXPECT_THROW(ops::embedding(table, std::vector<int32_t>{0, -1}), Error);
  EXPECT_THROW(ops::embedding(table.to(DType::BF16), std::vector<int32_t>{0}), Error);
  EXPECT_THROW(ops::embedding(randn({5}, 1), std::vector<int32_t>{0}), Error);
  EXPECT_THROW(ops::embedding_backward(randn({3, 3}, 2), std::vector<int32_t>{0, 1}, 5), Error);
  try {
    ops::embedding(table, std::vector<int32_t>{1, 2, 5});
    FAIL() << "no throw";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("embedding: index 5"), std::string::npos) << m;
    EXPECT_NE(m.find("V = 5"), std::string::npos) << m;
  }
}

TEST(Embedding, BackwardDoesNotDependOnThreadCount) {
  std::vector<int32_t> idx(5000);
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int32_t>((i * 7919) % 37);
  const Tensor gy = randn({5000, 16}, 1);
  auto run = [&](int threads) {
    const int before = num_threads();
    set_num_threads(threads);
    auto g = ops::embedding_backward(gy, idx, 40);
    set_num_threads(before);
    return g.to_vector();
  };
  EXPECT_EQ(run(1), run(2));
  EXPECT_EQ(run(1), run(3));
}

}  // namespace
}  // namespace cubist
