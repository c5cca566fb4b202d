// mse_loss and the finiteness check.
#include <cmath>

#include "autograd/loss.h"
#include "ops/loss.h"
#include "testing.h"

namespace cubist {
namespace {

using testing::expect_close;
using testing::randn;

TEST(MseLoss, Gradcheck) {
  Var p(randn({3, 7}, 1), true), t(randn({3, 7}, 2), true);
  testing::gradcheck([](const std::vector<Var>& v) { return mse_loss(v[0], v[1]); }, {p, t});
}

TEST(MseLoss, MatchesPyTorch) {
  Tensor p = randn({4, 5, 6}, 1), t = randn({4, 5, 6}, 2), gy = Tensor::full({}, 0.7f);
  auto ref = testing::torch_reference("mse_loss", {{"pred", p}, {"target", t}, {"gy", gy}});
  TORCH_OR_SKIP(ref);
  Var vp(p, true), vt(t, true);
  Var loss = mse_loss(vp, vt);
  loss.backward(gy);
  expect_close(loss.value(), ref->at("loss"), 1e-6f, 0.0f, "loss");
  expect_close(vp.grad(), ref->at("grad_pred"), 1e-5f, 1e-7f, "grad pred");
  expect_close(vt.grad(), ref->at("grad_target"), 1e-5f, 1e-7f, "grad target");
}

TEST(MseLoss, NonFiniteLossThrowsAndSaysWhy) {
  Tensor p = randn({2, 8}, 1), t = randn({2, 8}, 2);
  p.data<float>()[5] = NAN;
  std::string m = testing::error_message([&] { ops::mse_loss(p, t); });
  EXPECT_NE(m.find("mse_loss: the loss is NaN"), std::string::npos) << m;
  EXPECT_NE(m.find("element 5"), std::string::npos) << m;

  Tensor big = Tensor::full({4}, 3e19f), zero = Tensor::zeros({4});
  m = testing::error_message([&] { ops::mse_loss(big, zero); });
  EXPECT_NE(m.find("mse_loss: the loss is +Inf"), std::string::npos) << m;
  EXPECT_NE(m.find("overflows"), std::string::npos) << m;

  Tensor inf_t = Tensor::zeros({4});
  inf_t.data<float>()[2] = -INFINITY;
  m = testing::error_message([&] { ops::mse_loss(zero, inf_t); });
  EXPECT_NE(m.find("target has 1 non-finite values of 4 (first: element 2 is -Inf)"),
            std::string::npos)
      << m;
}

TEST(MseLoss, BadInputsThrow) {
  EXPECT_THROW(ops::mse_loss(randn({2, 3}, 1), randn({3, 2}, 2)), Error);
  EXPECT_THROW(ops::mse_loss(randn({2, 3}, 1).to(DType::BF16), randn({2, 3}, 2)), Error);
  EXPECT_THROW(ops::mse_loss(Tensor::empty({0}), Tensor::empty({0})), Error);
  EXPECT_NE(
      testing::error_message([] { ops::mse_loss(randn({2}, 1), randn({3}, 2)); }).find("mse_loss"),
      std::string::npos);
}

TEST(CheckFinite, PassesFiniteAndNamesTheCulprit) {
  EXPECT_NO_THROW(ops::check_finite(randn({100}, 1), "grad"));
  EXPECT_NO_THROW(ops::check_finite(randn({100}, 1).to(DType::BF16), "grad"));
  Tensor t = randn({70000}, 1);
  t.data<float>()[40000] = INFINITY;
  t.data<float>()[69999] = NAN;
  const std::string m =
      testing::error_message([&] { ops::check_finite(t, "train: gradient of w"); });
  EXPECT_NE(m.find("train: gradient of w has 2 non-finite values of 70000 (first: element 40000 "
                   "is +Inf)"),
            std::string::npos)
      << m;
  EXPECT_NE(testing::error_message([] {
              ops::check_finite(Tensor::full({}, NAN), "loss");
            }).find("loss is NaN"),
            std::string::npos);
}

}  // namespace
}  // namespace cubist
