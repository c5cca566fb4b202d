// Tests of resizing: PyTorch's interpolate (nearest, bilinear, trilinear; up and down), finite
// differences, bad inputs.
#include <gtest/gtest.h>

#include "autograd/resample.h"
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
  Dims x, size;
  ResizeMode mode;
};

TEST(Resize, MatchesTorch) {
  using M = ResizeMode;
  const std::vector<Case> cs{
      {{1, 2, 3, 4, 5}, {6, 8, 10}, M::kNearest},  // up by 2
      {{1, 2, 3, 4, 5}, {5, 7, 9}, M::kNearest},   // up, uneven
      {{2, 2, 6, 8, 9}, {3, 4, 4}, M::kNearest},   // down
      {{1, 2, 3, 4, 5}, {6, 8, 10}, M::kLinear},   // trilinear up by 2
      {{1, 3, 3, 4, 5}, {5, 7, 11}, M::kLinear},   // trilinear up, uneven
      {{2, 2, 6, 8, 9}, {3, 4, 5}, M::kLinear},    // trilinear down
      {{1, 2, 5, 4, 4}, {9, 4, 4}, M::kLinear},    // time only
      {{2, 3, 4, 6}, {8, 12}, M::kLinear},         // bilinear, 4-d
      {{2, 3, 7, 6}, {3, 4}, M::kNearest},         // nearest 2-d, down
  };
  NamedTensors named;
  std::map<std::string, std::string> attrs{{"cases", std::to_string(cs.size())}};
  std::vector<std::pair<Tensor, Tensor>> ins;
  for (size_t i = 0; i < cs.size(); ++i) {
    Dims ys{cs[i].x[0], cs[i].x[1]};
    std::string a = cs[i].mode == M::kNearest ? "nearest"
                    : cs[i].size.size() == 3  ? "trilinear"
                                              : "bilinear";
    for (int64_t s : cs[i].size) {
      ys.push_back(s);
      a += ' ';
      a += std::to_string(s);
    }
    ins.push_back({testing::randn(cs[i].x, 20 * i), testing::randn(ys, 20 * i + 1)});
    named.push_back({prefix(i, ".x"), ins[i].first});
    named.push_back({prefix(i, ".gy"), ins[i].second});
    attrs[prefix(i, "")] = a;
  }
  auto ref = testing::torch_reference("resize", named, attrs);
  TORCH_OR_SKIP(ref);
  for (size_t i = 0; i < cs.size(); ++i) {
    Var x(ins[i].first, true);
    Var y = resize(x, cs[i].size, cs[i].mode);
    y.backward(ins[i].second);
    testing::expect_close(y.value(), ref->at(prefix(i, ".y")), 1e-5f, 1e-5f, prefix(i, " y"));
    testing::expect_close(x.grad(), ref->at(prefix(i, ".grad_x")), 1e-5f, 1e-5f, prefix(i, " dx"));
  }
}

TEST(Resize, Gradcheck) {
  for (ResizeMode mode : {ResizeMode::kNearest, ResizeMode::kLinear}) {
    for (const Dims& size : {Dims{5, 6, 3}, Dims{2, 3, 7}}) {
      Var x(testing::randn({1, 2, 3, 4, 5}, 1), true);
      testing::gradcheck([&](const std::vector<Var>& v) { return resize(v[0], size, mode); }, {x});
    }
  }
}

TEST(Resize, SameSizeIsIdentity) {
  const Tensor x = testing::randn({1, 2, 3, 4, 5}, 3);
  for (ResizeMode mode : {ResizeMode::kNearest, ResizeMode::kLinear})
    EXPECT_EQ(ops::resize(x, {3, 4, 5}, mode).to_vector(), x.to_vector());
}

void expect_error(const std::function<void()>& f, const std::string& part) {
  testing::expect_error(f, "resize", part);
}

TEST(Resize, BadInputsThrow) {
  const Tensor x = Tensor::zeros({1, 2, 3, 4, 5});
  expect_error([&] { ops::resize(x, {6, 8}, ResizeMode::kLinear); }, "one length per spatial");
  expect_error([&] { ops::resize(x, {6, 0, 8}, ResizeMode::kLinear); }, ">= 1");
  expect_error([&] { ops::resize(Tensor::zeros({2, 3}), {4}, ResizeMode::kNearest); }, "[B, C");
  expect_error([&] { ops::resize(x.to(DType::BF16), {6, 8, 10}, ResizeMode::kNearest); }, "f32");
}

}  // namespace
}  // namespace cubist
