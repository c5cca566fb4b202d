// Attention over packed sequences: finite differences, PyTorch, packed = separate, thread-count
// independence, linear memory, bad inputs.
#include <cmath>
#include <string>

#include "autograd/attention.h"
#include "autograd/basic.h"
#include "core/allocator.h"
#include "core/parallel.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "testing.h"

namespace cubist {
namespace {

using Lens = std::vector<int64_t>;

std::string join(const Lens& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s.push_back(',');
    s.append(std::to_string(v[i]));
  }
  return s;
}

struct Case {
  int64_t Sq, Skv, H, D, Dv;
  Lens lq, lk;
  float scale = 0.0f;
};

// Forward, lse and all three gradients against PyTorch's explicit masked softmax in f64.
void compare_with_torch(const Case& c, uint64_t seed) {
  Tensor q = testing::randn({c.Sq, c.H, c.D}, seed),
         k = testing::randn({c.Skv, c.H, c.D}, seed + 1),
         v = testing::randn({c.Skv, c.H, c.Dv}, seed + 2),
         gy = testing::randn({c.Sq, c.H, c.Dv}, seed + 3);
  auto ref = testing::torch_reference(
      "attention", {{"q", q}, {"k", k}, {"v", v}, {"gy", gy}},
      {{"seqlens_q", join(c.lq)}, {"seqlens_kv", join(c.lk)}, {"scale", std::to_string(c.scale)}});
  TORCH_OR_SKIP(ref);
  const ops::AttentionResult r = ops::attention_forward(q, k, v, c.lq, c.lk, c.scale);
  testing::expect_close(r.out, ref->at("y"), 1e-4f, 1e-5f, "out");
  testing::expect_close(r.lse, ref->at("lse"), 1e-5f, 1e-5f, "lse");
  Var vq(q, true), vk(k, true), vv(v, true);
  attention(vq, vk, vv, c.lq, c.lk, c.scale).backward(gy);
  testing::expect_close(vq.grad(), ref->at("grad_q"), 1e-3f, 1e-4f, "grad q");
  testing::expect_close(vk.grad(), ref->at("grad_k"), 1e-3f, 1e-4f, "grad k");
  testing::expect_close(vv.grad(), ref->at("grad_v"), 1e-3f, 1e-4f, "grad v");
}

TEST(Attention, MatchesFiniteDifferences) {
  // Cross-attention shapes with two packed sequences; nothing a multiple of 16.
  Var q(testing::randn({5, 2, 4}, 1), true), k(testing::randn({7, 2, 4}, 2), true),
      v(testing::randn({7, 2, 3}, 3), true);
  testing::gradcheck(
      [](const std::vector<Var>& in) {
        return attention(in[0], in[1], in[2], {2, 3}, {3, 4});
      },
      {q, k, v});
}

TEST(Attention, MatchesFiniteDifferencesWithScale) {
  Var q(testing::randn({6, 1, 5}, 4), true), k(testing::randn({6, 1, 5}, 5), true),
      v(testing::randn({6, 1, 5}, 6), true);
  testing::gradcheck(
      [](const std::vector<Var>& in) { return attention(in[0], in[1], in[2], {}, {}, 0.7f); },
      {q, k, v});
}

TEST(Attention, MatchesPyTorchPackedSelfAttention) {
  compare_with_torch({63, 63, 3, 32, 32, {5, 17, 1, 40}, {5, 17, 1, 40}}, 10);
}

TEST(Attention, MatchesPyTorchCrossAttention) {
  // Video tokens of two clips attend to the two captions' text tokens; Dv != D.
  compare_with_torch({150, 19, 2, 24, 40, {70, 80}, {7, 12}}, 20);
}

TEST(Attention, MatchesPyTorchAcrossManyTiles) {
  // Several tiles each way with partial last tiles, a given scale, and head dims wider than one
  // 64-column micro-kernel chunk (D = 128, Dv = 80).
  compare_with_torch({200, 150, 2, 128, 80, {}, {}, 0.1f}, 30);
}

TEST(Attention, NaiveMatchesTiled) {
  struct Shape {
    int64_t Sq, Skv, H, D, Dv;
    Lens lq, lk;
  };
  // Small head dims, and wide ones (several 64-column chunks in the micro-kernels).
  for (const Shape& c : {Shape{90, 77, 2, 16, 8, {40, 50}, {70, 7}},
                         Shape{70, 300, 1, 128, 96, {20, 50}, {260, 40}}}) {
    const Tensor q = testing::randn({c.Sq, c.H, c.D}, 1), k = testing::randn({c.Skv, c.H, c.D}, 2),
                 v = testing::randn({c.Skv, c.H, c.Dv}, 3);
    const ops::AttentionResult a = ops::attention_forward(q, k, v, c.lq, c.lk);
    const ops::AttentionResult b = ops::attention_forward_naive(q, k, v, c.lq, c.lk);
    testing::expect_close(a.out, b.out, 1e-5f, 1e-5f, "out, D = " + std::to_string(c.D));
    testing::expect_close(a.lse, b.lse, 1e-5f, 1e-5f, "lse, D = " + std::to_string(c.D));
  }
}

TEST(Attention, PackedEqualsSeparate) {
  const Lens lq{5, 17, 1, 40}, lk{9, 3, 70, 20};
  const int64_t H = 2, D = 16, Dv = 24, Sq = 63, Skv = 102;
  const Tensor q = testing::randn({Sq, H, D}, 1), k = testing::randn({Skv, H, D}, 2),
               v = testing::randn({Skv, H, Dv}, 3), gy = testing::randn({Sq, H, Dv}, 4);
  Var pq(q, true), pk(k, true), pv(v, true);
  Var packed = attention(pq, pk, pv, lq, lk);
  packed.backward(gy);
  Var sq(q, true), sk(k, true), sv(v, true);
  std::vector<Var> outs;
  int64_t qa = 0, ka = 0;
  for (size_t s = 0; s < lq.size(); ++s) {
    outs.push_back(attention(slice(sq, 0, qa, qa + lq[s]), slice(sk, 0, ka, ka + lk[s]),
                             slice(sv, 0, ka, ka + lk[s])));
    qa += lq[s];
    ka += lk[s];
  }
  Var separate = concat(outs, 0);
  separate.backward(gy);
  testing::expect_close(packed.value(), separate.value(), 1e-6f, 1e-7f, "out");
  testing::expect_close(pq.grad(), sq.grad(), 1e-5f, 1e-7f, "grad q");
  testing::expect_close(pk.grad(), sk.grad(), 1e-5f, 1e-7f, "grad k");
  testing::expect_close(pv.grad(), sv.grad(), 1e-5f, 1e-7f, "grad v");
}

TEST(Attention, ResultsDoNotDependOnThreadCount) {
  // 2 heads x 2 sequences: one thread sweeps whole sequences, eight split them into tiles.
  const Tensor q = testing::randn({150, 2, 16}, 1), k = testing::randn({270, 2, 16}, 2),
               v = testing::randn({270, 2, 16}, 3), g = testing::randn({150, 2, 16}, 4);
  const Lens lq{100, 50}, lk{200, 70};
  const int before = num_threads();
  auto run = [&](int threads) {
    set_num_threads(threads);
    const ops::AttentionResult r = ops::attention_forward(q, k, v, lq, lk);
    ops::AttentionGrads d = ops::attention_backward(q, k, v, r.out, r.lse, g, lq, lk);
    return std::vector<Tensor>{r.out, r.lse, d.dq, d.dk, d.dv};
  };
  const std::vector<Tensor> one = run(1), many = run(8);
  set_num_threads(before);
  for (size_t i = 0; i < one.size(); ++i)
    EXPECT_EQ(one[i].to_vector(), many[i].to_vector()) << "result " << i;
}

TEST(Attention, EmptyKeySequenceGivesZeros) {
  const Tensor q = testing::randn({6, 1, 8}, 1), k = testing::randn({4, 1, 8}, 2),
               v = testing::randn({4, 1, 8}, 3), g = testing::randn({6, 1, 8}, 4);
  const Lens lq{3, 3}, lk{0, 4};
  const ops::AttentionResult r = ops::attention_forward(q, k, v, lq, lk);
  const ops::AttentionGrads d = ops::attention_backward(q, k, v, r.out, r.lse, g, lq, lk);
  const std::vector<float> out = r.out.to_vector(), dq = d.dq.to_vector();
  for (int i = 0; i < 3 * 8; ++i) {
    EXPECT_EQ(out[static_cast<size_t>(i)], 0.0f);
    EXPECT_EQ(dq[static_cast<size_t>(i)], 0.0f);
  }
  EXPECT_TRUE(std::isinf(r.lse.to_vector()[0]));
  EXPECT_TRUE(ops::all_finite(d.dk) && ops::all_finite(d.dv) && ops::all_finite(d.dq));
}

TEST(Attention, NanPropagates) {
  // A NaN key makes one score NaN in every row of its sequence: that must poison the rows, not be
  // clamped into a zero weight and hidden. The other sequence stays finite.
  const Tensor q = testing::randn({70, 1, 8}, 1), v = testing::randn({150, 1, 8}, 3);
  Tensor k = testing::randn({150, 1, 8}, 2);
  k.data<float>()[8 * 37 + 2] = std::nanf("");
  const std::vector<float> out =
      ops::attention_forward(q, k, v, {30, 40}, {100, 50}).out.to_vector();
  for (int i = 0; i < 30; ++i) EXPECT_TRUE(std::isnan(out[static_cast<size_t>(8 * i)])) << i;
  for (int i = 30; i < 70; ++i) EXPECT_TRUE(std::isfinite(out[static_cast<size_t>(8 * i)])) << i;
}

TEST(Attention, MemoryIsLinearInSequenceLength) {
  const int64_t S = 2048, H = 6, D = 64;
  const Tensor q = testing::randn({S, H, D}, 1), k = testing::randn({S, H, D}, 2),
               v = testing::randn({S, H, D}, 3);
  Allocator::cpu().reset_peak();
  const size_t base = Allocator::cpu().stats().bytes_in_use;
  const ops::AttentionResult r = ops::attention_forward(q, k, v);
  const size_t peak = Allocator::cpu().stats().peak_bytes_in_use - base;
  const size_t scores = static_cast<size_t>(S * S * H * 4);
  // Output, lse, packed copies of k and v and per-thread tiles: a few times the size of q.
  EXPECT_LT(peak, scores / 8) << "peak " << peak << " bytes; the score matrix would be " << scores;
  EXPECT_LT(peak, 4 * q.nbytes());
}

void expect_error(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Attention, BadInputsThrow) {
  const Tensor q = testing::randn({6, 2, 8}, 1), k = testing::randn({5, 2, 8}, 2),
               v = testing::randn({5, 2, 4}, 3);
  const char* op = "attention_forward";
  expect_error([&] { ops::attention_forward(q, k, v, {3, 2}, {2, 3}); }, op);  // 5 != 6
  expect_error([&] { ops::attention_forward(q, k, v, {3, 3}, {5}); }, op);     // counts
  expect_error([&] { ops::attention_forward(q, k, v, {6}, {-1, 6}); }, op);    // negative
  expect_error([&] { ops::attention_forward(q, testing::randn({5, 3, 8}, 4), v); }, op);
  expect_error([&] { ops::attention_forward(q, testing::randn({5, 2, 7}, 4), v); }, op);
  expect_error([&] { ops::attention_forward(q, k, testing::randn({4, 2, 4}, 4)); }, op);
  expect_error([&] { ops::attention_forward(q.to(DType::BF16), k, v); }, op);
  expect_error([&] { ops::attention_forward(q.reshape({6, 16}), k, v); }, op);
  expect_error([&] { ops::attention_forward(q.transpose(0, 1), k, v); }, op);
  const ops::AttentionResult r = ops::attention_forward(q, k, v);
  expect_error(
      [&] {
        ops::attention_backward(q, k, v, r.out, r.lse, testing::randn({6, 2, 8}, 5));
      },
      "attention_backward");
  expect_error([&] { ops::attention_backward(q, k, v, r.out, r.lse.reshape({12}), r.out); },
               "attention_backward");
}

}  // namespace
}  // namespace cubist
