// ops::gemm against a naive triple loop; linear and matmul against finite differences, PyTorch,
// and bad inputs.
#include <omp.h>

#include <cmath>
#include <limits>
#include <thread>

#include "autograd/matmul.h"
#include "ops/gemm.h"
#include "ops/matmul.h"
#include "testing.h"

namespace cubist {
namespace {

// C = alpha * op(A) * op(B) + beta * C in double, for row-major A, B, C with leading dims.
void naive_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                const std::vector<float>& A, int64_t lda, const std::vector<float>& B, int64_t ldb,
                float beta, std::vector<float>& C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double a =
            ta ? A[static_cast<size_t>(k * lda + i)] : A[static_cast<size_t>(i * lda + k)];
        const double b =
            tb ? B[static_cast<size_t>(j * ldb + k)] : B[static_cast<size_t>(k * ldb + j)];
        s += a * b;
      }
      float& c = C[static_cast<size_t>(i * ldc + j)];
      c = static_cast<float>(alpha * s + (beta == 0.0f ? 0.0 : beta * static_cast<double>(c)));
    }
}

std::vector<float> random_vector(size_t n, uint64_t seed) {
  return n ? testing::randn({static_cast<int64_t>(n)}, seed).to_vector() : std::vector<float>{};
}

struct GemmCase {
  int64_t M, N, K;
};

// Every transpose combination, with padded leading dimensions, alpha/beta and C's padding kept.
TEST(Gemm, MatchesNaiveLoopForAllTransposesAndOddSizes) {
  const GemmCase cases[] = {{0, 3, 4},    {3, 0, 4},     {3, 4, 0},   {1, 1, 1},
                            {1, 7, 1},    {7, 1, 5},     {1, 1, 9},   {5, 7, 3},
                            {17, 33, 65}, {64, 31, 129}, {130, 67, 1}};
  uint64_t seed = 1;
  for (const GemmCase& c : cases)
    for (int t = 0; t < 4; ++t)
      for (float beta : {0.0f, 0.5f}) {
        const bool ta = t & 1, tb = t & 2;
        const int64_t pad = 3;  // rows are stored longer than they are
        const int64_t lda = (ta ? c.M : c.K) + pad, ldb = (tb ? c.K : c.N) + pad, ldc = c.N + pad;
        const int64_t a_rows = ta ? c.K : c.M, b_rows = tb ? c.N : c.K;
        const auto A = random_vector(static_cast<size_t>(a_rows * lda), seed++);
        const auto B = random_vector(static_cast<size_t>(b_rows * ldb), seed++);
        auto C = random_vector(static_cast<size_t>(c.M * ldc), seed++);
        if (beta == 0.0f && c.M > 0 && c.N > 0) C[0] = std::numeric_limits<float>::quiet_NaN();
        auto expect = C;
        naive_gemm(ta, tb, c.M, c.N, c.K, 1.5f, A, lda, B, ldb, beta, expect, ldc);
        ops::gemm(ta, tb, c.M, c.N, c.K, 1.5f, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
        for (size_t i = 0; i < C.size(); ++i)
          ASSERT_NEAR(C[i], expect[i], 1e-4f * (1.0f + std::fabs(expect[i])))
              << "M=" << c.M << " N=" << c.N << " K=" << c.K << " ta=" << ta << " tb=" << tb
              << " beta=" << beta << " at " << i;
      }
}

// Calls from inside a parallel region run concurrently on separate outputs and must give what
// calls from one thread give.
TEST(Gemm, IsThreadSafe) {
  const int64_t M = 48, N = 40, K = 56, calls = 16;
  const auto A = random_vector(static_cast<size_t>(calls * M * K), 1);
  const auto B = random_vector(static_cast<size_t>(K * N), 2);
  std::vector<float> serial(static_cast<size_t>(calls * M * N)), parallel(serial.size());
  for (int64_t i = 0; i < calls; ++i)
    ops::gemm(false, true, M, N, K, 1.0f, A.data() + i * M * K, K, B.data(), K, 0.0f,
              serial.data() + i * M * N, N);
#pragma omp parallel for num_threads(4) schedule(dynamic)
  for (int64_t i = 0; i < calls; ++i)
    ops::gemm(false, true, M, N, K, 1.0f, A.data() + i * M * K, K, B.data(), K, 0.0f,
              parallel.data() + i * M * N, N);
  EXPECT_EQ(serial, parallel);
}

// Calls from threads that OpenMP does not know about, each running a multithreaded product.
TEST(Gemm, IsThreadSafeAcrossStdThreads) {
  const int64_t n = 160;
  const auto A = random_vector(static_cast<size_t>(n * n), 1);
  std::vector<float> serial(static_cast<size_t>(n * n));
  ops::gemm(false, false, n, n, n, 1.0f, A.data(), n, A.data(), n, 0.0f, serial.data(), n);
  std::vector<std::vector<float>> out(4, std::vector<float>(serial.size()));
  std::vector<std::thread> threads;
  for (auto& o : out)
    threads.emplace_back([&] {
      for (int rep = 0; rep < 5; ++rep)
        ops::gemm(false, false, n, n, n, 1.0f, A.data(), n, A.data(), n, 0.0f, o.data(), n);
    });
  for (auto& t : threads) t.join();
  for (const auto& o : out) EXPECT_EQ(o, serial);
}

// Small M x N with a long K is where a library may split K among threads, which changes the order
// of the sums. With this machine's 1 and 2 threads every backend gives the same bits here;
// oneDNN 2.6 splits K from about 8 threads on, so 8 threads are checked for the others only.
// (No BLAS promises thread-count invariance: OpenBLAS differs between 1 and 2 threads on some
// small shapes, e.g. 16 x 720 x 432, and oneDNN on others, e.g. 16 x 256 x 1024 with B
// transposed or 1 x 256 x 256; docs/PERFORMANCE.md. CUBIST_DETERMINISTIC=1, tested below, is
// the mode that promises it.)
TEST(Gemm, ResultDoesNotDependOnThreadCount) {
  const int64_t M = 64, N = 64, K = 8192;
  const auto A = random_vector(static_cast<size_t>(K * M), 1);
  const auto B = random_vector(static_cast<size_t>(K * N), 2);
  auto run = [&](int threads) {
    std::vector<float> c(static_cast<size_t>(M * N));
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    ops::gemm(true, false, M, N, K, 1.0f, A.data(), M, B.data(), N, 0.0f, c.data(), N);
    omp_set_num_threads(before);
    return c;
  };
  const auto one = run(1);
  EXPECT_EQ(one, run(2)) << "backend " << ops::gemm_backend();
  if (std::string(ops::gemm_backend()) != "onednn") {
    EXPECT_EQ(one, run(8)) << "backend " << ops::gemm_backend() << ": 1 and 8 threads differ";
  }
}

// The deterministic mode: the same bits for 1, 2 and 3 threads on the shapes where the library's
// own threading differs, the block offsets right for every transpose and for strided operands
// (checked against sums in double), and beta applied once.
TEST(Gemm, DeterministicModeGivesTheSameBitsForAnyThreadCount) {
  struct Shape {
    bool ta, tb;
    int64_t M, N, K;
  };
  const bool saved = ops::gemm_deterministic();
  ops::set_gemm_deterministic(true);
  for (const Shape& s : {Shape{false, true, 16, 256, 1024}, Shape{false, false, 1, 256, 1024},
                         Shape{true, false, 64, 1, 4096}, Shape{false, false, 300, 600, 129},
                         Shape{true, true, 300, 600, 129}, Shape{true, false, 513, 257, 40},
                         // K cut into chunks, the chunks' products summed in order
                         Shape{false, true, 16, 300, 9001}, Shape{true, false, 40, 33, 70000}}) {
    SCOPED_TRACE(std::to_string(s.M) + "x" + std::to_string(s.N) + "x" + std::to_string(s.K) +
                 (s.ta ? " A^T" : "") + (s.tb ? " B^T" : ""));
    const int64_t lda = (s.ta ? s.M : s.K) + 3, ldb = (s.tb ? s.K : s.N) + 5, ldc = s.N + 2;
    const auto A = random_vector(static_cast<size_t>((s.ta ? s.K : s.M) * lda), 3);
    const auto B = random_vector(static_cast<size_t>((s.tb ? s.N : s.K) * ldb), 4);
    const auto C0 = random_vector(static_cast<size_t>(s.M * ldc), 5);
    auto run = [&](int threads) {
      std::vector<float> c = C0;
      const int before = omp_get_max_threads();
      omp_set_num_threads(threads);
      ops::gemm(s.ta, s.tb, s.M, s.N, s.K, 0.5f, A.data(), lda, B.data(), ldb, 2.0f, c.data(), ldc);
      omp_set_num_threads(before);
      return c;
    };
    const std::vector<float> one = run(1);
    EXPECT_EQ(one, run(2));
    EXPECT_EQ(one, run(3));
    double worst = 0;
    for (int64_t i = 0; i < s.M; ++i)
      for (int64_t j = 0; j < s.N; ++j) {
        double sum = 0;
        for (int64_t k = 0; k < s.K; ++k)
          sum += static_cast<double>(s.ta ? A[k * lda + i] : A[i * lda + k]) *
                 (s.tb ? B[j * ldb + k] : B[k * ldb + j]);
        const double want = 0.5 * sum + 2.0 * C0[i * ldc + j];
        worst = std::max(worst, std::abs(one[i * ldc + j] - want) / (1.0 + std::abs(want)));
      }
    EXPECT_LT(worst, 1e-4);
    for (int64_t i = 0; i < s.M; ++i)  // the padding past each row of C untouched
      for (int64_t j = s.N; j < ldc; ++j) EXPECT_EQ(one[i * ldc + j], C0[i * ldc + j]);
  }
  ops::set_gemm_deterministic(saved);
}

TEST(Gemm, RejectsBadLeadingDimensions) {
  std::vector<float> a(16), b(16), c(16);
  EXPECT_THROW(ops::gemm(false, false, 2, 2, 4, 1, a.data(), 3, b.data(), 2, 0, c.data(), 2),
               Error);
  EXPECT_THROW(ops::gemm(false, false, 2, 2, 2, 1, a.data(), 2, b.data(), 2, 0, c.data(), 1),
               Error);
  EXPECT_THROW(ops::gemm(false, false, -1, 2, 2, 1, a.data(), 2, b.data(), 2, 0, c.data(), 2),
               Error);
}

// ---- linear ----

TEST(Linear, GradientsMatchFiniteDifferences) {
  // Fresh leaves for each check: gradients accumulate in a leaf across backward passes.
  auto x = [] { return Var(testing::randn({2, 3, 5}, 1), true); };
  auto w = [] { return Var(testing::randn({4, 5}, 2), true); };
  testing::gradcheck([](const std::vector<Var>& v) { return linear(v[0], v[1], v[2]); },
                     {x(), w(), Var(testing::randn({4}, 3), true)});
  testing::gradcheck([](const std::vector<Var>& v) { return linear(v[0], v[1]); }, {x(), w()});
}

TEST(Linear, FrozenWeightGivesOnlyTheInputGradient) {
  Var x(testing::randn({3, 5}, 1), true), w(testing::randn({4, 5}, 2), false),
      b(testing::randn({4}, 3), false);
  linear(x, w, b).backward(testing::randn({3, 4}, 4));
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  EXPECT_FALSE(b.grad().defined());
}

void compare_linear_with_torch(bool with_bias) {
  Tensor x = testing::randn({2, 7, 24}, 1), w = testing::randn({13, 24}, 2),
         b = testing::randn({13}, 3), gy = testing::randn({2, 7, 13}, 4);
  NamedTensors in{{"x", x}, {"w", w}, {"gy", gy}};
  if (with_bias) in.push_back({"b", b});
  auto ref = testing::torch_reference("linear", in);
  TORCH_OR_SKIP(ref);
  Var vx(x, true), vw(w, true), vb(b, true);
  Var y = with_bias ? linear(vx, vw, vb) : linear(vx, vw);
  y.backward(gy);
  testing::expect_close(y.value(), ref->at("y"), 1e-5f, 1e-5f, "y");
  testing::expect_close(vx.grad(), ref->at("grad_x"), 1e-5f, 1e-5f, "grad x");
  testing::expect_close(vw.grad(), ref->at("grad_w"), 1e-5f, 1e-5f, "grad w");
  if (with_bias) testing::expect_close(vb.grad(), ref->at("grad_b"), 1e-5f, 1e-5f, "grad b");
}

TEST(Linear, MatchesPyTorchWithBias) { compare_linear_with_torch(true); }
TEST(Linear, MatchesPyTorchWithoutBias) { compare_linear_with_torch(false); }

// Throws Error whose message contains `op`.
template <typename F>
void expect_error_naming(const char* op, F&& f) {
  try {
    f();
    ADD_FAILURE() << "no Error thrown (expected one naming " << op << ")";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(op), std::string::npos) << e.what();
  }
}

TEST(Linear, RejectsBadShapesAndTypes) {
  Tensor x = testing::randn({3, 5}, 1), w = testing::randn({4, 5}, 2), b = testing::randn({4}, 3);
  expect_error_naming("linear", [&] { ops::linear(x, testing::randn({4, 6}, 2)); });
  expect_error_naming("linear", [&] { ops::linear(x, testing::randn({20}, 2)); });
  expect_error_naming("linear", [&] { ops::linear(x, w, testing::randn({5}, 3)); });
  expect_error_naming("linear", [&] { ops::linear(x.to(DType::BF16), w, b); });
  expect_error_naming("linear", [&] { ops::linear(x, w.to(DType::BF16), b); });
  expect_error_naming("linear", [&] { ops::linear(x.transpose(0, 1), testing::randn({4, 3}, 2)); });
  expect_error_naming("linear", [&] {
    ops::linear_backward(testing::randn({3, 5}, 4), x, w, true, true, false);
  });
}

// ---- matmul ----

TEST(Matmul, GradientsMatchFiniteDifferences) {
  auto a = [] { return Var(testing::randn({2, 3, 4, 5}, 1), true); };
  auto fn = [](const std::vector<Var>& v) { return matmul(v[0], v[1]); };
  testing::gradcheck(fn, {a(), Var(testing::randn({2, 3, 5, 3}, 2), true)});  // batched
  testing::gradcheck(fn, {a(), Var(testing::randn({5, 6}, 3), true)});        // b shared
}

// A product large enough to run batch entries one after another on all threads.
TEST(Matmul, LargeBatchedProductMatchesNaiveLoop) {
  const int64_t B = 2, M = 96, K = 200, N = 300;
  Tensor a = testing::randn({B, M, K}, 1), b = testing::randn({B, K, N}, 2);
  Tensor y = ops::matmul(a, b);
  const auto av = a.to_vector(), bv = b.to_vector();
  std::vector<float> expect(static_cast<size_t>(B * M * N));
  for (int64_t i = 0; i < B; ++i) {
    std::vector<float> ai(av.begin() + i * M * K, av.begin() + (i + 1) * M * K);
    std::vector<float> bi(bv.begin() + i * K * N, bv.begin() + (i + 1) * K * N);
    std::vector<float> ci(static_cast<size_t>(M * N));
    naive_gemm(false, false, M, N, K, 1.0f, ai, K, bi, N, 0.0f, ci, N);
    std::copy(ci.begin(), ci.end(), expect.begin() + i * M * N);
  }
  testing::expect_close(y, Tensor::from_vector({B, M, N}, expect), 1e-4f, 1e-4f, "y");
}

void compare_matmul_with_torch(const Dims& a_shape, const Dims& b_shape, const Dims& y_shape) {
  Tensor a = testing::randn(a_shape, 1), b = testing::randn(b_shape, 2),
         gy = testing::randn(y_shape, 3);
  auto ref = testing::torch_reference("matmul", {{"a", a}, {"b", b}, {"gy", gy}});
  TORCH_OR_SKIP(ref);
  Var va(a, true), vb(b, true);
  Var y = matmul(va, vb);
  y.backward(gy);
  testing::expect_close(y.value(), ref->at("y"), 1e-5f, 1e-5f, "y");
  testing::expect_close(va.grad(), ref->at("grad_a"), 1e-5f, 1e-5f, "grad a");
  testing::expect_close(vb.grad(), ref->at("grad_b"), 1e-5f, 1e-5f, "grad b");
}

TEST(Matmul, BatchedMatchesPyTorch) {
  compare_matmul_with_torch({2, 3, 9, 16}, {2, 3, 16, 11}, {2, 3, 9, 11});
}
TEST(Matmul, SharedMatchesPyTorch) { compare_matmul_with_torch({4, 9, 16}, {16, 11}, {4, 9, 11}); }

TEST(Matmul, RejectsBadShapesAndTypes) {
  Tensor a = testing::randn({2, 3, 4}, 1);
  expect_error_naming("matmul", [&] { ops::matmul(a, testing::randn({2, 5, 6}, 2)); });
  expect_error_naming("matmul", [&] { ops::matmul(a, testing::randn({3, 4, 6}, 2)); });
  expect_error_naming("matmul", [&] { ops::matmul(a, testing::randn({4}, 2)); });
  expect_error_naming("matmul", [&] { ops::matmul(a, testing::randn({1, 2, 4, 6}, 2)); });
  expect_error_naming("matmul", [&] { ops::matmul(a.to(DType::BF16), testing::randn({4, 6}, 2)); });
  expect_error_naming("matmul", [&] {
    ops::matmul_backward(testing::randn({2, 3, 5}, 3), a, testing::randn({4, 6}, 2), true, true);
  });
}

}  // namespace
}  // namespace cubist
