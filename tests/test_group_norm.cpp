// Tests of group normalisation: PyTorch, finite differences, thread-count independence, bad inputs.
#include <gtest/gtest.h>

#include "autograd/group_norm.h"
#include "core/parallel.h"
#include "ops/group_norm.h"
#include "testing.h"

namespace cubist {
namespace {

std::string prefix(size_t i, const char* suffix) {
  std::string s = "c";
  s += std::to_string(i);
  s += suffix;
  return s;
}

struct Case {
  Dims x;
  int64_t groups;
  float mean_offset;  // added to x: checks that a large mean costs no accuracy
};

TEST(GroupNorm, MatchesTorch) {
  const std::vector<Case> cs{{{2, 8, 3, 4, 5}, 4, 0.0f},
                             {{1, 6, 5, 7}, 3, 0.0f},
                             {{2, 4, 3000}, 2, 50.0f},
                             {{3, 5, 2, 3, 3}, 5, 0.0f},
                             {{2, 6}, 1, 0.0f}};
  NamedTensors named;
  std::map<std::string, std::string> attrs{{"cases", std::to_string(cs.size())}};
  struct In {
    Tensor x, w, b, gy;
  };
  std::vector<In> ins;
  for (size_t i = 0; i < cs.size(); ++i) {
    const int64_t C = cs[i].x[1];
    In in{testing::randn(cs[i].x, 10 * i, 2.0f), testing::randn({C}, 10 * i + 1),
          testing::randn({C}, 10 * i + 2), testing::randn(cs[i].x, 10 * i + 3)};
    float* p = in.x.data<float>();
    for (int64_t k = 0; k < in.x.numel(); ++k) p[k] += cs[i].mean_offset;
    const std::string pre = prefix(i, ".");
    named.push_back({pre + "x", in.x});
    named.push_back({pre + "w", in.w});
    named.push_back({pre + "b", in.b});
    named.push_back({pre + "gy", in.gy});
    attrs[prefix(i, "")] = std::to_string(cs[i].groups) + " 1e-6";
    ins.push_back(in);
  }
  auto ref = testing::torch_reference("group_norm", named, attrs);
  TORCH_OR_SKIP(ref);
  for (size_t i = 0; i < cs.size(); ++i) {
    const std::string pre = prefix(i, ".");
    Var x(ins[i].x, true), w(ins[i].w, true), b(ins[i].b, true);
    Var y = group_norm(x, cs[i].groups, w, b);
    y.backward(ins[i].gy);
    testing::expect_close(y.value(), ref->at(pre + "y"), 1e-4f, 1e-4f, pre + "y");
    testing::expect_close(x.grad(), ref->at(pre + "grad_x"), 1e-3f, 1e-4f, pre + "dx");
    testing::expect_close(w.grad(), ref->at(pre + "grad_w"), 1e-4f, 1e-3f, pre + "dw");
    testing::expect_close(b.grad(), ref->at(pre + "grad_b"), 1e-4f, 1e-3f, pre + "db");
  }
}

TEST(GroupNorm, Gradcheck) {
  Var x(testing::randn({2, 6, 3, 4}, 1), true);
  Var w(testing::randn({6}, 2), true), b(testing::randn({6}, 3), true);
  testing::GradcheckOptions opt;
  opt.eps = 1e-2f;  // float differences of a normalised output need a larger step
  testing::gradcheck([](const std::vector<Var>& v) { return group_norm(v[0], 3, v[1], v[2]); },
                     {x, w, b}, opt);
}

TEST(GroupNorm, ThreadCountIndependent) {
  const Tensor x = testing::randn({2, 32, 4, 16, 16}, 4), gy = testing::randn(x.shape(), 5);
  const Tensor w = testing::randn({32}, 6), b = testing::randn({32}, 7);
  const int saved = num_threads();
  std::vector<std::vector<float>> r[4];
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    ops::GroupNormOut o = ops::group_norm(x, 8, w, b);
    ops::GroupNormGrads g = ops::group_norm_backward(gy, x, o.mean, o.rstd, 8, w, true, true);
    r[0].push_back(o.y.to_vector());
    r[1].push_back(g.dx.to_vector());
    r[2].push_back(g.dw.to_vector());
    r[3].push_back(g.db.to_vector());
  }
  set_num_threads(saved);
  for (auto& v : r) EXPECT_EQ(v[0], v[1]);
}

void expect_error(const std::function<void()>& f, const std::string& part) {
  testing::expect_error(f, "group_norm", part);
}

TEST(GroupNorm, BadInputsThrow) {
  const Tensor x = Tensor::zeros({2, 6, 4}), w = Tensor::zeros({6}), b = Tensor::zeros({6});
  expect_error([&] { ops::group_norm(x, 4, w, b); }, "groups must divide");
  expect_error([&] { ops::group_norm(x, 0, w, b); }, "groups must divide");
  expect_error([&] { ops::group_norm(x, 3, Tensor::zeros({5}), b); }, "weight");
  expect_error([&] { ops::group_norm(x, 3, w, Tensor::zeros({4})); }, "bias");
  expect_error([&] { ops::group_norm(x.to(DType::BF16), 3, w, b); }, "f32");
  expect_error([&] { ops::group_norm(Tensor::zeros({6}), 3, w, b); }, "[B, C, ...]");
}

}  // namespace
}  // namespace cubist
