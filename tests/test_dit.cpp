// The diffusion transformer: forward and backward against PyTorch on the same weights, packing
// equals no packing, finite-difference gradients, overfitting a handful of clips, deterministic
// sampling, configs, and bad input.
#include <algorithm>
#include <cmath>

#include "autograd/basic.h"
#include "core/error.h"
#include "core/parallel.h"
#include "diffusion/dit_flow.h"
#include "models/dit/dit.h"
#include "models/text/tokenizer.h"
#include "testing.h"
#include "train/adamw.h"

namespace cubist {
namespace {

DiTConfig tiny_config() {
  DiTConfig c = load_dit_config(std::string(CUBIST_SOURCE_DIR) + "/configs/dit/tiny.json");
  c.text.vocab = 12;
  return c;
}

// Gives every parameter (the zero-initialised ones included) random values, so that every path
// carries gradient.
void randomise(const Module& m, uint64_t seed, float std = 0.3f) {
  for (NamedParam p : m.parameters())
    p.var.value().copy_(testing::randn(p.var.shape(), seed++, std));
}

const Prompts kPrompts = {{3, 4, 5}, {text::kEmpty}};

std::vector<Var> two_clips(const DiTConfig& c, bool grad) {
  // A 2-frame 4x4 clip and a 1-frame 2x6 image: 8 and 3 tokens.
  return {Var(testing::randn({c.latent_channels, 2, 4, 4}, 1), grad),
          Var(testing::randn({c.latent_channels, 1, 2, 6}, 2), grad)};
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

TEST(DiT, StartsAtZeroVelocity) {
  Generator gen(1);
  const DiTConfig c = tiny_config();
  DiT model(c, gen);
  for (const Var& v : model.forward(two_clips(c, false), {0.5f, 0.5f}, kPrompts))
    for (float x : v.value().to_vector()) ASSERT_EQ(x, 0.0f);
}

TEST(DiT, MatchesPyTorch) {
  Generator gen(1);
  const DiTConfig c = tiny_config();
  DiT model(c, gen);
  randomise(model, 100);
  PackLayout layout;
  const Var packed = pack_clips(two_clips(c, false), c.patch, &layout);
  Var tokens(packed.value(), true);
  const std::vector<float> t = {0.3f, 0.8f};
  const Tensor gy = testing::randn({layout.tokens(), c.patch_dim()}, 9);

  NamedTensors in = {{"tokens", tokens.value()},
                     {"positions", layout.positions},
                     {"t", Tensor::from_vector({2}, t)},
                     {"text_ids", Tensor::from_vector({4}, {3, 4, 5, float(text::kEmpty)})},
                     {"gy", gy}};
  for (const auto& [name, value] : model.state_dict()) in.push_back({"param." + name, value});
  auto ref = testing::torch_reference("dit", in,
                                      {{"hidden", std::to_string(c.hidden)},
                                       {"heads", std::to_string(c.heads)},
                                       {"depth", std::to_string(c.depth)},
                                       {"freq_dim", std::to_string(c.freq_dim)},
                                       {"text_heads", std::to_string(c.text.heads)},
                                       {"text_depth", std::to_string(c.text.depth)},
                                       {"seqlens", join(layout.seqlens)},
                                       {"text_lens", "3,1"}});
  TORCH_OR_SKIP(ref);
  Var y = model.forward_tokens(tokens, layout, t, kPrompts);
  testing::expect_close(y.value(), ref->at("y"), 1e-3f, 1e-4f, "y");
  y.backward(gy);
  testing::expect_close(tokens.grad(), ref->at("grad_tokens"), 2e-3f, 2e-4f, "grad tokens");
  for (const NamedParam& p : model.parameters()) {
    ASSERT_TRUE(p.var.grad().defined()) << p.name;
    testing::expect_close(p.var.grad(), ref->at("grad." + p.name), 2e-3f, 2e-4f, "grad " + p.name);
  }
}

// Two clips packed into one sequence give the same velocities and the same gradients as each
// clip run alone.
TEST(DiT, PackingEqualsNoPacking) {
  Generator gen(1);
  const DiTConfig c = tiny_config();
  DiT model(c, gen);
  randomise(model, 100);
  const std::vector<float> t = {0.3f, 0.8f};
  const std::vector<Var> x = two_clips(c, true);
  const std::vector<Tensor> w = {testing::randn(x[0].shape(), 5), testing::randn(x[1].shape(), 6)};
  auto grads = [&](bool packed) {
    for (NamedParam p : model.parameters()) p.var.grad() = Tensor();
    std::vector<Var> y;
    if (packed) {
      y = model.forward(x, t, kPrompts);
      add(sum(mul(y[0], Var(w[0]))), sum(mul(y[1], Var(w[1])))).backward();
    } else {
      for (size_t i = 0; i < 2; ++i) {
        y.push_back(model.forward({x[i]}, {t[i]}, {kPrompts[i]})[0]);
        sum(mul(y[i], Var(w[i]))).backward();
      }
    }
    std::vector<Tensor> out = {y[0].value(), y[1].value()};
    for (const NamedParam& p : model.parameters()) out.push_back(p.var.grad().clone());
    return out;
  };
  const std::vector<Tensor> a = grads(true), b = grads(false);
  ASSERT_EQ(a.size(), b.size());
  // Packing changes the GEMMs' shapes, and with them (under oneDNN) the order of the sums, so
  // entries that are small differences of large terms may differ relatively; the tolerance is
  // relative to each tensor's largest entry. A masking or layout error is off by O(1).
  for (size_t i = 0; i < a.size(); ++i) {
    float scale = 0;
    for (float v : b[i].to_vector()) scale = std::max(scale, std::fabs(v));
    testing::expect_close(a[i], b[i], 1e-4f, 1e-4f * scale,
                          "output or gradient " + std::to_string(i));
  }
}

TEST(DiT, ResultsDoNotDependOnThreadCount) {
  Generator gen(1);
  const DiTConfig c = tiny_config();
  DiT model(c, gen);
  randomise(model, 100);
  auto run = [&](int threads) {
    const int before = num_threads();
    set_num_threads(threads);
    for (NamedParam p : model.parameters()) p.var.grad() = Tensor();
    const std::vector<Var> y = model.forward(two_clips(c, false), {0.3f, 0.8f}, kPrompts);
    add(sum(mul(y[0], y[0])), sum(y[1])).backward();
    std::vector<std::vector<float>> out = {y[0].value().to_vector(), y[1].value().to_vector()};
    for (const NamedParam& p : model.parameters()) out.push_back(p.var.grad().to_vector());
    set_num_threads(before);
    return out;
  };
  EXPECT_EQ(run(1), run(2));  // no GEMM library promises more (tests/test_matmul.cpp)
}

TEST(DiT, GradientsMatchFiniteDifferences) {
  const testing::SingleThread one;  // hundreds of tiny forward passes (see OverfitsAHandfulOfClips)
  Generator gen(1);
  DiTConfig c = tiny_config();
  c.hidden = 8;
  c.depth = 1;
  c.freq_dim = 8;
  c.text = {.vocab = 8, .dim = 8, .depth = 1, .heads = 2, .mlp_ratio = 1};
  DiT model(c, gen);
  randomise(model, 100, 0.5f);
  PackLayout layout;
  const Var packed =
      pack_clips({Var(testing::randn({4, 1, 2, 4}, 1)), Var(testing::randn({4, 1, 2, 2}, 2))},
                 c.patch, &layout);
  std::vector<Var> inputs = {Var(packed.value(), true)};
  for (const NamedParam& p : model.parameters()) inputs.push_back(p.var);
  testing::gradcheck(
      [&](const std::vector<Var>& v) {
        return model.forward_tokens(v[0], layout, {0.3f, 0.6f}, {{3, 4}, {5}});
      },
      inputs, {.eps = 1e-2f, .rtol = 5e-2f, .atol = 5e-3f, .max_elements = 3});
}

// Four clips of mixed sizes (an image among them) with fixed times and noise: the model can
// learn them by heart.
TEST(DiT, OverfitsAHandfulOfClips) {
  // Ops this small gain nothing from threads, and on a busy machine every parallel region can
  // stall on a descheduled thread: hundreds of steps run on one.
  const testing::SingleThread one;
  Generator init(1);
  DiTConfig c = tiny_config();
  c.caption_dropout = 0.0f;
  DiT model(c, init);
  const std::vector<Tensor> clips = {
      testing::randn({4, 1, 4, 4}, 1), testing::randn({4, 2, 4, 4}, 2),
      testing::randn({4, 1, 2, 6}, 3), testing::randn({4, 3, 2, 2}, 4)};
  const Prompts prompts = {{3, 4}, {5}, {6, 7, 8}, {text::kEmpty}};
  AdamW opt(model.parameters(), {.lr = 3e-3f});
  float first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    Generator gen(42);  // the same times and noise every step
    const FlowLoss l = flow_matching_loss(model, clips, prompts, gen);
    if (step == 0) first = l.loss.item();
    last = l.loss.item();
    l.loss.backward();
    clip_grad_norm(opt.params(), 1.0f);
    opt.step();
    opt.zero_grad();
  }
  EXPECT_LT(last, first / 10) << "loss " << first << " -> " << last;
}

TEST(DiT, FlowLossDrawsTimesAndDropsCaptions) {
  Generator init(1);
  DiTConfig c = tiny_config();
  c.caption_dropout = 0.5f;
  DiT model(c, init);
  const std::vector<Tensor> clips(16, testing::randn({4, 1, 2, 2}, 1));
  const Prompts prompts(16, {3});
  Generator gen(7);
  const FlowLoss l = flow_matching_loss(model, clips, prompts, gen);
  int dropped = 0;
  for (size_t i = 0; i < 16; ++i) {
    EXPECT_GT(l.times[i], 0.0f);
    EXPECT_LT(l.times[i], 1.0f);
    dropped += l.dropped[i];
  }
  EXPECT_GT(dropped, 2);
  EXPECT_LT(dropped, 14);
  EXPECT_TRUE(std::isfinite(l.loss.item()));
}

TEST(DiT, SamplingIsDeterministicFromTheSeed) {
  Generator gen(1);
  const DiTConfig c = tiny_config();
  DiT model(c, gen);
  randomise(model, 100, 0.1f);
  const Dims shape = {4, 2, 4, 4};
  const GenerateOptions o{.steps = 3, .sampler = flow::Sampler::kHeun, .guidance = 3.0f, .seed = 5};
  const Tensor a = generate_latents(model, shape, {3, 4}, o);
  const Tensor b = generate_latents(model, shape, {3, 4}, o);
  EXPECT_EQ(a.shape(), shape);
  EXPECT_EQ(a.to_vector(), b.to_vector());
  GenerateOptions o2 = o;
  o2.seed = 6;
  EXPECT_NE(generate_latents(model, shape, {3, 4}, o2).to_vector(), a.to_vector());
  o2 = o;
  o2.guidance = 1.0f;
  o2.sampler = flow::Sampler::kEuler;
  EXPECT_NE(generate_latents(model, shape, {3, 4}, o2).to_vector(), a.to_vector());
}

// The guidance rule reaches sampling: projected guidance changes a guided sample, is
// deterministic, and is nothing at guidance 1 (one evaluation, no unconditional prediction).
TEST(DiT, SamplingTakesTheGuidanceRule) {
  Generator gen(1);
  const DiTConfig c = tiny_config();
  DiT model(c, gen);
  randomise(model, 100, 0.1f);
  const Dims shape = {4, 2, 4, 4};
  GenerateOptions o{.steps = 3, .guidance = 3.0f, .seed = 5};
  const Tensor cfg = generate_latents(model, shape, {3, 4}, o);
  o.guidance_rule = flow::GuidanceRule::kProjected;
  const Tensor projected = generate_latents(model, shape, {3, 4}, o);
  EXPECT_NE(projected.to_vector(), cfg.to_vector());
  EXPECT_EQ(generate_latents(model, shape, {3, 4}, o).to_vector(), projected.to_vector());
  o.guidance = 1.0f;
  const Tensor plain = generate_latents(model, shape, {3, 4}, o);
  o.guidance_rule = flow::GuidanceRule::kClassifierFree;
  EXPECT_EQ(generate_latents(model, shape, {3, 4}, o).to_vector(), plain.to_vector());
}

// A guide whose loss is the squared distance of the clean estimate to a target pulls the sample
// towards it; a scale of 0 is no guidance at all.
TEST(DiT, GuidanceByALossOnTheCleanLatentsPullsTheSampleTowardsItsMinimum) {
  Generator gen(1);
  const DiTConfig c = tiny_config();
  DiT model(c, gen);
  randomise(model, 100, 0.1f);
  const Dims shape = {4, 2, 4, 4};
  const Tensor target = testing::randn(shape, 9);
  GenerateOptions o{.steps = 6, .sampler = flow::Sampler::kEuler, .guidance = 1.0f, .seed = 5};
  const Tensor plain = generate_latents(model, shape, {3, 4}, o);
  int calls = 0;
  o.guide = [&](const Tensor& clean) {
    ++calls;
    EXPECT_EQ(clean.shape(), shape);
    std::vector<float> g = clean.to_vector(), t = target.to_vector();
    for (size_t i = 0; i < g.size(); ++i) g[i] -= t[i];  // d/dclean of |clean - target|^2 / 2
    return Tensor::from_vector(shape, g);
  };
  auto distance = [&](const Tensor& z) {
    double d = 0;
    const std::vector<float> a = z.to_vector(), b = target.to_vector();
    for (size_t i = 0; i < a.size(); ++i) d += (a[i] - b[i]) * (a[i] - b[i]);
    return d;
  };
  o.guide_scale = 0.0f;
  EXPECT_EQ(generate_latents(model, shape, {3, 4}, o).to_vector(), plain.to_vector());
  EXPECT_EQ(calls, 0);
  o.guide_scale = 1.0f;
  const Tensor pulled = generate_latents(model, shape, {3, 4}, o);
  EXPECT_EQ(calls, 6);  // one velocity a step with Euler
  EXPECT_LT(distance(pulled), 0.5 * distance(plain));
  // Heun: the guide moves the predictor's velocity alone, once a step.
  o.sampler = flow::Sampler::kHeun;
  o.guide_scale = 0.0f;
  const Tensor heun = generate_latents(model, shape, {3, 4}, o);
  calls = 0;
  o.guide_scale = 1.0f;
  EXPECT_LT(distance(generate_latents(model, shape, {3, 4}, o)), 0.5 * distance(heun));
  EXPECT_EQ(calls, 6);
}

TEST(DiT, BadInputSaysWhatIsAccepted) {
  Generator gen(1);
  const DiTConfig c = tiny_config();
  DiT model(c, gen);
  std::string msg = testing::error_message([&] {
    model.forward({Var(testing::randn({4, 1, 5, 4}, 1))}, {0.5f}, {{3}});
  });
  EXPECT_NE(msg.find("multiple of the patch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4 or 6"), std::string::npos) << msg;
  msg = testing::error_message([&] {
    model.forward({Var(testing::randn({3, 1, 4, 4}, 1))}, {0.5f}, {{3}});
  });
  EXPECT_NE(msg.find("[4, T, H, W]"), std::string::npos) << msg;
  msg = testing::error_message([&] {
    model.forward({Var(testing::randn({4, 1, 4, 4}, 1))}, {0.5f}, {std::vector<int32_t>(65, 3)});
  });
  EXPECT_NE(msg.find("1 to 64"), std::string::npos) << msg;
  EXPECT_THROW(model.forward({Var(testing::randn({4, 1, 4, 4}, 1))}, {0.5f}, {{}}), Error);
  EXPECT_THROW(model.forward({Var(testing::randn({4, 1, 4, 4}, 1))}, {1.5f}, {{3}}), Error);
  EXPECT_THROW(model.forward({Var(testing::randn({4, 1, 4, 4}, 1))}, {0.5f}, {{3}, {4}}), Error);
}

TEST(DiTConfig, ParsesAndRejects) {
  const DiTConfig c = parse_dit_config(dit_config_json(tiny_config()));
  EXPECT_EQ(c.hidden, 32);
  EXPECT_EQ(c.patch, (PatchSize{1, 2, 2}));
  std::string msg = testing::error_message([] { parse_dit_config("{\"hiden\": 3}"); });
  EXPECT_NE(msg.find("unknown key \"hiden\""), std::string::npos) << msg;
  msg = testing::error_message([] { parse_dit_config("{\"hidden\": 30, \"heads\": 4}"); });
  EXPECT_NE(msg.find("multiple of heads"), std::string::npos) << msg;
  EXPECT_THROW(parse_dit_config("{\"patch\": [1, 2]}"), Error);
  msg = testing::error_message([] { parse_dit_config("{\"depth\": 2.5}"); });
  EXPECT_NE(msg.find("\"depth\" has the wrong type (2.5); expected a whole number"),
            std::string::npos)
      << msg;
  EXPECT_EQ(parse_dit_config("{\"depth\": 3.0}").depth, 3);
  for (const char* name : {"tiny", "small", "xl"})
    EXPECT_NO_THROW(
        load_dit_config(std::string(CUBIST_SOURCE_DIR) + "/configs/dit/" + name + ".json"));
}

TEST(Patchify, RoundTripsAndOrdersTokens) {
  const Tensor x = testing::randn({3, 2, 4, 6}, 1);
  const PatchSize p{2, 2, 3};
  const Var tok = patchify(Var(x), p);
  EXPECT_EQ(tok.shape(), Dims({1 * 2 * 2, 3 * 12}));
  EXPECT_EQ(unpatchify(tok, p, 3, {1, 2, 2}).value().to_vector(), x.to_vector());
  // Token 1 is patch (t 0, h 0, w 1); its feature (c 1, dt 1, dh 0, dw 2) is x[1, 1, 0, 5].
  EXPECT_EQ(tok.value().to_vector()[1 * 36 + 1 * 12 + 1 * 6 + 0 * 3 + 2],
            x.to_vector()[((1 * 2 + 1) * 4 + 0) * 6 + 5]);
  const Tensor pos = patch_positions({2, 1, 3});
  EXPECT_EQ(pos.to_vector(),
            (std::vector<float>{0, 0, 0, 0, 0, 1, 0, 0, 2, 1, 0, 0, 1, 0, 1, 1, 0, 2}));
}

// The packed block with per-clip modulation equals the batched block of `cubist bench block`.
TEST(DiTBlock, PackedEqualsBatched) {
  Generator gen(1);
  DiTBlock block({.hidden = 16, .heads = 2}, gen);
  randomise(block, 10);
  const PackLayout l = pack_layout({{1, 2, 3}, {1, 3, 2}});
  const Tensor x = testing::randn({2, 6, 16}, 2), c = testing::randn({2, 16}, 3);
  const Var batched = block.forward(Var(x), Var(c), l.positions);
  const Var packed = block.forward_packed(
      Var(x.reshape({12, 16})), Var(c),
      {.positions = &l.positions, .seqlens = &l.seqlens, .clip_of_token = &l.clip_of_token}, Var());
  testing::expect_close(packed.value(), batched.value().reshape({12, 16}), 1e-5f, 1e-6f,
                        "packed block");
}

}  // namespace
}  // namespace cubist
