// Tests of 3-D convolution: both implementations against each other and against PyTorch, finite
// differences, causality, thread-count independence and argument checking.
#include <gtest/gtest.h>

#include "autograd/conv3d.h"
#include "core/parallel.h"
#include "ops/gemm.h"
#include "testing.h"

namespace cubist {
namespace {

using ops::ConvAlgo;

// "c<i><suffix>": the prefix of case i's tensors and attributes for tests/torch_ref/ops_conv.py.
std::string testing_case_prefix(size_t i, const char* suffix) {
  std::string s = "c";
  s += std::to_string(i);
  s += suffix;
  return s;
}

struct Case {
  Dims x, w;
  Conv3dParams p;
  bool bias;
};

Conv3dParams params(std::array<int64_t, 3> stride, std::array<int64_t, 3> pad, TimePadding tp) {
  Conv3dParams p;
  p.stride = stride;
  p.padding = pad;
  p.time_padding = tp;
  return p;
}

const char* mode_name(TimePadding t) {
  switch (t) {
    case TimePadding::kSymmetric:
      return "symmetric";
    case TimePadding::kCausalZeros:
      return "causal_zeros";
    case TimePadding::kCausalReplicate:
      return "causal_replicate";
  }
  return "?";
}

// Strides 1 and 2, kernels 3 and 1, every time padding, odd sizes, with and without bias.
std::vector<Case> cases() {
  using TP = TimePadding;
  return {
      {{2, 3, 5, 6, 7}, {4, 3, 3, 3, 3}, params({1, 1, 1}, {0, 1, 1}, TP::kCausalZeros), true},
      {{1, 3, 5, 6, 7}, {4, 3, 3, 3, 3}, params({1, 1, 1}, {0, 1, 1}, TP::kCausalReplicate), true},
      {{2, 4, 7, 9, 8}, {3, 4, 3, 3, 3}, params({2, 2, 2}, {0, 1, 1}, TP::kCausalReplicate), false},
      {{1, 4, 6, 8, 8}, {5, 4, 3, 3, 3}, params({2, 2, 2}, {0, 0, 1}, TP::kCausalZeros), true},
      {{2, 5, 4, 5, 6}, {3, 5, 1, 1, 1}, params({1, 1, 1}, {0, 0, 0}, TP::kSymmetric), true},
      {{1, 3, 5, 7, 6}, {2, 3, 3, 3, 3}, params({2, 2, 2}, {1, 1, 1}, TP::kSymmetric), true},
      {{1, 4, 9, 5, 5}, {4, 4, 3, 1, 1}, params({2, 1, 1}, {0, 0, 0}, TP::kCausalReplicate), true},
      {{1, 2, 1, 4, 4}, {3, 2, 3, 3, 3}, params({1, 1, 1}, {0, 1, 1}, TP::kCausalReplicate), true},
  };
}

struct Inputs {
  Tensor x, w, b, gy;
};

Inputs make_inputs(const Case& c, uint64_t seed) {
  Inputs in;
  in.x = testing::randn(c.x, seed);
  in.w = testing::randn(c.w, seed + 1, 0.3f);
  if (c.bias) in.b = testing::randn({c.w[0]}, seed + 2);
  in.gy = testing::randn(ops::conv3d_output_shape(c.x, c.w, c.p), seed + 3);
  return in;
}

TEST(Conv3d, OutputSizes) {
  const Dims w{4, 3, 3, 3, 3};
  // Causal: T_out = (T + kt - 1 - kt) / st + 1 = (T - 1) / st + 1.
  EXPECT_EQ(ops::conv3d_output_shape({1, 3, 9, 8, 8}, w,
                                     params({1, 1, 1}, {0, 1, 1}, TimePadding::kCausalZeros)),
            (Dims{1, 4, 9, 8, 8}));
  EXPECT_EQ(ops::conv3d_output_shape({1, 3, 9, 8, 8}, w,
                                     params({2, 2, 2}, {0, 1, 1}, TimePadding::kCausalReplicate)),
            (Dims{1, 4, 5, 4, 4}));
  EXPECT_EQ(ops::conv3d_output_shape({1, 3, 8, 7, 7}, w,
                                     params({2, 2, 2}, {0, 0, 0}, TimePadding::kCausalReplicate)),
            (Dims{1, 4, 4, 3, 3}));
  EXPECT_EQ(ops::conv3d_output_shape({1, 3, 8, 7, 7}, w,
                                     params({2, 2, 2}, {1, 1, 1}, TimePadding::kSymmetric)),
            (Dims{1, 4, 4, 4, 4}));
}

// Forward and backward of both implementations against PyTorch (f64), one Python run.
TEST(Conv3d, MatchesTorch) {
  const std::vector<Case> cs = cases();
  NamedTensors named;
  std::map<std::string, std::string> attrs{{"cases", std::to_string(cs.size())}};
  std::vector<Inputs> ins;
  for (size_t i = 0; i < cs.size(); ++i) {
    const std::string p = testing_case_prefix(i, "");
    ins.push_back(make_inputs(cs[i], 100 * i));
    named.push_back({p + ".x", ins[i].x});
    named.push_back({p + ".w", ins[i].w});
    named.push_back({p + ".gy", ins[i].gy});
    if (cs[i].bias) named.push_back({p + ".b", ins[i].b});
    const Conv3dParams& q = cs[i].p;
    attrs[p] = std::to_string(q.stride[0]) + " " + std::to_string(q.stride[1]) + " " +
               std::to_string(q.stride[2]) + " " + std::to_string(q.padding[0]) + " " +
               std::to_string(q.padding[1]) + " " + std::to_string(q.padding[2]) + " " +
               mode_name(q.time_padding);
  }
  auto ref = testing::torch_reference("conv3d", named, attrs);
  TORCH_OR_SKIP(ref);
  for (size_t i = 0; i < cs.size(); ++i) {
    for (ConvAlgo algo : {ConvAlgo::kOneDnn, ConvAlgo::kVol2col}) {
      const std::string p = testing_case_prefix(i, ".");
      std::string what = std::to_string(i);
      what += algo == ConvAlgo::kOneDnn ? " oneDNN " : " vol2col ";
      Var x(ins[i].x, true), w(ins[i].w, true), b;
      if (cs[i].bias) b = Var(ins[i].b, true);
      Var y = conv3d(x, w, b, cs[i].p, algo);
      y.backward(ins[i].gy);
      testing::expect_close(y.value(), ref->at(p + "y"), 1e-4f, 1e-4f, what + "y");
      testing::expect_close(x.grad(), ref->at(p + "grad_x"), 1e-4f, 1e-4f, what + "dx");
      testing::expect_close(w.grad(), ref->at(p + "grad_w"), 1e-4f, 2e-4f, what + "dw");
      if (cs[i].bias)
        testing::expect_close(b.grad(), ref->at(p + "grad_b"), 1e-4f, 2e-4f, what + "db");
    }
  }
}

TEST(Conv3d, Gradcheck) {
  for (ConvAlgo algo : {ConvAlgo::kOneDnn, ConvAlgo::kVol2col}) {
    for (const Conv3dParams& p : {params({1, 1, 1}, {0, 1, 1}, TimePadding::kCausalReplicate),
                                  params({2, 2, 2}, {0, 1, 0}, TimePadding::kCausalZeros),
                                  params({1, 2, 1}, {1, 1, 1}, TimePadding::kSymmetric)}) {
      Var x(testing::randn({1, 2, 4, 5, 4}, 1), true);
      Var w(testing::randn({3, 2, 3, 3, 3}, 2, 0.5f), true);
      Var b(testing::randn({3}, 3), true);
      testing::gradcheck(
          [&](const std::vector<Var>& v) { return conv3d(v[0], v[1], v[2], p, algo); }, {x, w, b});
    }
  }
}

// Changing input frame t changes no output frame before t (stride 1, so output frame i sees input
// frames i - kt + 1 .. i), and does change frame t.
TEST(Conv3d, CausalOutputsIgnoreLaterFrames) {
  for (TimePadding tp : {TimePadding::kCausalZeros, TimePadding::kCausalReplicate}) {
    for (ConvAlgo algo : {ConvAlgo::kOneDnn, ConvAlgo::kVol2col}) {
      const Conv3dParams p = params({1, 1, 1}, {0, 1, 1}, tp);
      const Tensor x = testing::randn({1, 3, 6, 5, 5}, 11), w = testing::randn({4, 3, 3, 3, 3}, 12);
      const Tensor y = ops::conv3d(x, w, Tensor(), p, algo);
      for (int64_t t = 0; t < 6; ++t) {
        Tensor x2 = x.clone();
        x2.select(2, t).fill_(5.0f);
        const Tensor y2 = ops::conv3d(x2, w, Tensor(), p, algo);
        for (int64_t s = 0; s < 6; ++s) {
          const std::vector<float> a = y.select(2, s).to_vector(), b = y2.select(2, s).to_vector();
          if (s < t) {
            EXPECT_EQ(a, b) << "input frame " << t << " changed output frame " << s;
          } else if (s == t) {
            EXPECT_NE(a, b) << "input frame " << t << " left its output frame alone";
          }
        }
      }
    }
  }
}

// With oneDNN, y and dx are bitwise equal with 1 and 2 threads; all outputs of both
// implementations repeat bitwise at a fixed thread count (see ops/conv3d.h).
TEST(Conv3d, Deterministic) {
  const Case c{{2, 16, 5, 12, 12},
               {16, 16, 3, 3, 3},
               params({1, 1, 1}, {0, 1, 1}, TimePadding::kCausalReplicate),
               true};
  const Inputs in = make_inputs(c, 5);
  const int saved = num_threads();
  for (ConvAlgo algo : {ConvAlgo::kOneDnn, ConvAlgo::kVol2col}) {
    SCOPED_TRACE(algo == ConvAlgo::kOneDnn ? "oneDNN" : "vol2col");
    std::vector<std::vector<float>> y, dx, dw, db;
    for (int threads : {1, 2, 2}) {
      set_num_threads(threads);
      y.push_back(ops::conv3d(in.x, in.w, in.b, c.p, algo).to_vector());
      ops::Conv3dGrads g = ops::conv3d_backward(in.gy, in.x, in.w, c.p, true, true, true, algo);
      dx.push_back(g.dx.to_vector());
      dw.push_back(g.dw.to_vector());
      db.push_back(g.db.to_vector());
    }
    set_num_threads(saved);
    EXPECT_TRUE(y[1] == y[2] && dx[1] == dx[2] && dw[1] == dw[2] && db[1] == db[2]);
    EXPECT_EQ(db[0], db[1]);
    if (algo == ConvAlgo::kOneDnn) {
      EXPECT_EQ(y[0], y[1]);
      EXPECT_EQ(dx[0], dx[1]);
    }
  }
}

// CUBIST_DETERMINISTIC=1: every gradient, dw too, the same bits for 1, 2 and 3 threads, and dw
// the same as oneDNN's within rounding.
TEST(Conv3d, DeterministicModeGivesTheSameWeightGradientForAnyThreadCount) {
  // oneDNN's dw differs between 1 and 2 threads in 6745 of 6912 weights on this shape.
  const Case c{{1, 16, 9, 32, 32},
               {16, 16, 3, 3, 3},
               params({1, 1, 1}, {0, 1, 1}, TimePadding::kCausalReplicate),
               true};
  const Inputs in = make_inputs(c, 7);
  const ops::Conv3dGrads plain = ops::conv3d_backward(in.gy, in.x, in.w, c.p, true, true, true);
  const bool saved_mode = ops::gemm_deterministic();
  const int saved = num_threads();
  ops::set_gemm_deterministic(true);
  std::vector<std::vector<float>> dx, dw;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    const ops::Conv3dGrads g = ops::conv3d_backward(in.gy, in.x, in.w, c.p, true, true, true);
    dx.push_back(g.dx.to_vector());
    dw.push_back(g.dw.to_vector());
  }
  set_num_threads(saved);
  ops::set_gemm_deterministic(saved_mode);
  EXPECT_EQ(dw[0], dw[1]);
  EXPECT_EQ(dw[0], dw[2]);
  EXPECT_EQ(dx[0], dx[1]);
  EXPECT_EQ(dx[0], dx[2]);
  // Sums of 9216 products each, in another order: the same within f32 rounding of such sums.
  testing::expect_close(Tensor::from_vector(plain.dw.shape(), dw[0]), plain.dw, 1e-3f, 1e-3f, "dw");
}

void expect_error(const std::function<void()>& f, const std::string& part) {
  testing::expect_error(f, "conv3d", part);
}

TEST(Conv3d, BadInputsThrow) {
  const Conv3dParams p = params({1, 1, 1}, {0, 1, 1}, TimePadding::kCausalZeros);
  const Tensor x = Tensor::zeros({1, 3, 4, 5, 5}), w = Tensor::zeros({2, 3, 3, 3, 3});
  expect_error([&] { ops::conv3d(x, Tensor::zeros({2, 4, 3, 3, 3}), Tensor(), p); }, "channels");
  expect_error([&] { ops::conv3d(Tensor::zeros({1, 3, 4, 5}), w, Tensor(), p); }, "5-d");
  expect_error(
      [&] {
        ops::conv3d(x, Tensor::zeros({2, 3, 3, 8, 3}), Tensor(), p);
      },
      "larger than the padded input");
  expect_error(
      [&] {
        ops::conv3d(x, Tensor::zeros({2, 3, 5, 3, 3}), Tensor(),
                    params({1, 1, 1}, {0, 1, 1}, TimePadding::kSymmetric));
      },
      "larger than the padded input");
  expect_error([&] { ops::conv3d(x.to(DType::BF16), w, Tensor(), p); }, "f32");
  expect_error([&] { ops::conv3d(x, w, Tensor::zeros({3}), p); }, "bias");
  expect_error(
      [&] {
        ops::conv3d(x, w, Tensor(), params({0, 1, 1}, {0, 1, 1}, p.time_padding));
      },
      "strides");
  expect_error(
      [&] {
        ops::conv3d_backward(Tensor::zeros({1, 2, 4, 5, 4}), x, w, p, true, true, true);
      },
      "dy");
}

}  // namespace
}  // namespace cubist
