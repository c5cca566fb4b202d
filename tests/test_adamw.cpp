// AdamW and gradient clipping against torch.optim.AdamW and clip_grad_norm_.
#include <cmath>

#include "testing.h"
#include "train/adamw.h"

namespace cubist {
namespace {

TEST(AdamW, MatchesPyTorchWithClipping) {
  const int steps = 4;
  Tensor w0 = testing::randn({6, 7}, 1);
  NamedTensors inputs{{"w", w0}};
  std::vector<Tensor> grads;
  for (int i = 0; i < steps; ++i) {
    grads.push_back(testing::randn({6, 7}, 10 + i, i == 2 ? 10.0f : 0.1f));  // step 2 is clipped
    inputs.push_back({std::string("g").append(std::to_string(i)), grads.back()});
  }
  auto ref = testing::torch_reference(
      "adamw", inputs, {{"lr", "0.01"}, {"wd", "0.1"}, {"steps", "4"}, {"max_norm", "1.0"}});
  TORCH_OR_SKIP(ref);
  Var w(w0.clone(), true);
  AdamW opt({{"w", w}}, {.lr = 0.01f, .weight_decay = 0.1f});
  std::vector<float> norms;
  for (int i = 0; i < steps; ++i) {
    w.grad() = grads[i].clone();
    norms.push_back(clip_grad_norm(opt.params(), 1.0f));
    opt.step();
  }
  testing::expect_close(w.value(), ref->at("w"), 1e-5f, 1e-6f, "weights after AdamW");
  testing::expect_close(Tensor::from_vector({steps}, norms), ref->at("norms"), 1e-5f, 1e-6f,
                        "gradient norms");
}

TEST(AdamW, NonFiniteGradientIsRefusedAndWeightsKept) {
  Var w(Tensor::full({3}, 1.0f), true);
  w.grad() = Tensor::from_vector({3}, {0.1f, NAN, 0.2f});
  AdamW opt({{"w", w}}, {});
  EXPECT_THROW(clip_grad_norm(opt.params(), 1.0f), Error);
  EXPECT_EQ(w.value().to_vector(), (std::vector<float>{1, 1, 1}));
}

TEST(AdamW, NoDecayParametersAreNotDecayed) {
  Var w(Tensor::full({2}, 1.0f), true);
  w.grad() = Tensor::zeros({2});
  AdamW opt({{"w", w, false}}, {.lr = 0.1f, .weight_decay = 0.5f});
  opt.step();
  EXPECT_EQ(w.value().to_vector(), (std::vector<float>{1, 1}));
}

}  // namespace
}  // namespace cubist
