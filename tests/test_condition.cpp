// Prompting with images and videos: random known-frame masks for training, the loss over the
// generated frames alone, known frames held exactly during sampling, and edits (SDEdit's partial
// schedule, FlowEdit).
#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "autograd/loss.h"
#include "core/error.h"
#include "diffusion/condition.h"
#include "diffusion/dit_flow.h"
#include "models/dit/dit.h"
#include "models/text/tokenizer.h"
#include "testing.h"

namespace cubist {
namespace {

DiTConfig conditioned_config() {
  DiTConfig c = load_dit_config(std::string(CUBIST_SOURCE_DIR) + "/configs/dit/tiny.json");
  c.text.vocab = 12;
  c.frame_conditioning = true;
  return c;
}

void randomise(const Module& m, uint64_t seed, float std) {
  for (NamedParam p : m.parameters())
    p.var.value().copy_(testing::randn(p.var.shape(), seed++, std));
}

// The known latent frames of a mask [1, T, H, W], as a bit string "10001".
std::string pattern(const Tensor& mask) {
  const std::vector<float> m = mask.to_vector();
  const int64_t hw = mask.size(2) * mask.size(3);
  std::string s;
  for (int64_t t = 0; t < mask.size(1); ++t) {
    const float v = m[static_cast<size_t>(t * hw)];
    for (int64_t i = 0; i < hw; ++i) EXPECT_EQ(m[static_cast<size_t>(t * hw + i)], v);
    s += v == 1.0f ? '1' : '0';
  }
  return s;
}

TEST(Condition, RandomMasksCoverEveryKindAndLeaveFramesToGenerate) {
  Generator gen(3);
  std::set<std::string> seen;
  for (int i = 0; i < 400; ++i) {
    const std::string p = pattern(random_known_mask(5, 2, 3, gen));
    EXPECT_NE(p.find('0'), std::string::npos) << "nothing left to generate: " << p;
    seen.insert(p);
  }
  for (const char* p : {"10000", "11000", "11100", "00001", "00011", "10001", "11001", "10011"})
    EXPECT_TRUE(seen.count(p)) << "never drew " << p;
  EXPECT_GT(seen.size(), 14u);  // random frames add patterns no other kind makes ("01010")
  EXPECT_EQ(pattern(random_known_mask(1, 2, 2, gen)), "0");  // an image: nothing to condition on
  Generator a(9), b(9);
  EXPECT_EQ(random_known_mask(5, 2, 2, a).to_vector(), random_known_mask(5, 2, 2, b).to_vector());
}

TEST(Condition, MaskKindsFollowTheirWeights) {
  // Uniform weights draw exactly as before the weights existed (one randint(5)).
  Generator a(4), b(4);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(pattern(random_known_mask(5, 1, 1, a)),
              pattern(random_known_mask(5, 1, 1, b, {1, 1, 1, 1, 1})));
  // Only "ends": a known first and last frame and a gap, every time.
  Generator gen(5);
  for (int i = 0; i < 200; ++i) {
    const std::string p = pattern(random_known_mask(5, 1, 1, gen, {0, 0, 0, 1, 0}));
    EXPECT_TRUE(p.front() == '1' && p.back() == '1' && p.find('0') != std::string::npos) << p;
  }
  // "tail" weighted 3 of 4 against "first": about three quarters end in a known frame.
  int tails = 0;
  for (int i = 0; i < 2000; ++i)
    tails += pattern(random_known_mask(4, 1, 1, gen, {1, 0, 3, 0, 0})).back() == '1';
  EXPECT_NEAR(tails / 2000.0, 0.75, 0.04);
}

TEST(Condition, HoldsFramesAndAddsTheMaskChannel) {
  const Tensor x = testing::randn({2, 3, 1, 2}, 1), known = testing::randn({2, 3, 1, 2}, 2);
  const Tensor mask = frame_mask(3, 1, 2, {0, 2});
  EXPECT_EQ(pattern(mask), "101");
  const std::vector<float> h = hold_frames(x, known, mask).to_vector(), xv = x.to_vector(),
                           kv = known.to_vector();
  for (size_t i = 0; i < h.size(); ++i) {
    const size_t frame = (i / 2) % 3;
    EXPECT_EQ(h[i], frame == 1 ? xv[i] : kv[i]) << i;
  }
  const Tensor in = with_mask_channel(x, mask);
  EXPECT_EQ(in.shape(), (Dims{3, 3, 1, 2}));
  EXPECT_EQ(in.slice(0, 2, 3).contiguous().to_vector(), mask.to_vector());
  const Tensor w = generated_weight(mask, 2);
  EXPECT_EQ(w.to_vector(), (std::vector<float>{0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0}));
  EXPECT_THROW(frame_mask(3, 1, 2, {3}), Error);
  EXPECT_THROW(hold_frames(x, known, frame_mask(2, 1, 2, {0})), Error);
}

TEST(Condition, LossCoversOnlyTheGeneratedFrames) {
  // The loss recomputed by hand, with each clip's draws from its own substream in their
  // documented order: time, caption dropout, noise, whether to condition, the mask.
  Generator init(1);
  DiTConfig c = conditioned_config();
  c.condition_rate = 1.0f;
  c.caption_dropout = 0.0f;
  DiT model(c, init);
  randomise(model, 50, 0.2f);
  const std::vector<Tensor> clips = {testing::randn({4, 3, 2, 2}, 1),
                                     testing::randn({4, 4, 2, 4}, 2)};
  const Prompts prompts = {{3, 4}, {5}};
  Generator gen(11);
  const FlowLoss l = flow_matching_loss(model, clips, prompts, gen);

  double se = 0.0, count = 0.0;
  for (size_t i = 0; i < clips.size(); ++i) {
    Generator again = Generator(11).substream(i);
    const Tensor& x0 = clips[i];
    const PatchGrid grid = patch_grid(x0.shape(), c.patch);
    const float s = flow::resolution_shift(grid.tokens(), c.shift_base_tokens, c.shift_base);
    const float t = flow::shift_time(flow::logit_normal(again, c.logit_mean, c.logit_std), s);
    EXPECT_EQ(t, l.times[i]);
    again.uniform();  // caption dropout
    Tensor noise = Tensor::empty(x0.shape());
    again.normal_(noise);
    again.uniform();  // conditioned (rate 1)
    const Tensor mask = random_known_mask(x0.size(1), x0.size(2), x0.size(3), again);
    const std::string known = pattern(mask);
    EXPECT_EQ(std::count(known.begin(), known.end(), '1'), l.known[i]);
    EXPECT_GT(l.known[i], 0);
    const Tensor in = with_mask_channel(hold_frames(flow::noisy(x0, noise, t), x0, mask), mask);
    const std::vector<float> v = model.forward({Var(in)}, {t}, {prompts[i]})[0].value().to_vector();
    const std::vector<float> target = flow::velocity_target(x0, noise).to_vector();
    const std::vector<float> w = generated_weight(mask, 4).to_vector();
    for (size_t k = 0; k < v.size(); ++k) {
      se += w[k] * (v[k] - target[k]) * (v[k] - target[k]);
      count += w[k];
    }
  }
  EXPECT_NEAR(l.loss.item(), se / count, 1e-4 * se / count);
  EXPECT_EQ(l.elements, count);
}

TEST(Condition, SamplingKeepsKnownFramesAndReadsThem) {
  Generator init(1);
  const DiTConfig c = conditioned_config();
  DiT model(c, init);
  randomise(model, 70, 0.1f);
  const Dims shape = {4, 3, 2, 2};
  const Tensor known = testing::randn(shape, 5), other = testing::randn(shape, 6);
  const Tensor mask = frame_mask(3, 2, 2, {0});
  GenerateOptions o{.steps = 4, .guidance = 2.0f, .seed = 3};
  o.known = &known;
  o.known_mask = &mask;
  const Tensor a = generate_latents(model, shape, {3, 4}, o);
  EXPECT_EQ(a.slice(1, 0, 1).contiguous().to_vector(),
            known.slice(1, 0, 1).contiguous().to_vector());
  o.known = &other;  // another first frame: the generated frames follow it
  const Tensor b = generate_latents(model, shape, {3, 4}, o);
  EXPECT_NE(a.slice(1, 1, 3).contiguous().to_vector(), b.slice(1, 1, 3).contiguous().to_vector());
  // Projected guidance projects the sample's latents, not the mask channel beside them.
  o.guidance_rule = flow::GuidanceRule::kProjected;
  const Tensor p = generate_latents(model, shape, {3, 4}, o);
  EXPECT_EQ(p.slice(1, 0, 1).contiguous().to_vector(),
            other.slice(1, 0, 1).contiguous().to_vector());
  EXPECT_NE(p.slice(1, 1, 3).contiguous().to_vector(), b.slice(1, 1, 3).contiguous().to_vector());
  o.guidance_rule = flow::GuidanceRule::kClassifierFree;

  DiTConfig plain = c;
  plain.frame_conditioning = false;
  Generator init2(1);
  DiT unconditioned(plain, init2);
  o.known = &known;
  testing::expect_error(
      [&] {
        generate_latents(unconditioned, shape, {3, 4}, o);
      },
      "trained without frame conditioning", "\"frame_conditioning\": true");
}

// A loop's cycle (GenerateOptions::cycle_window): one Euler step from t = 1 is x1 - v, where each
// latent frame's v is the mean of the velocities of the windows that hold it after their first
// frame. At step 0, window j holds frames -1 + j (L - 1) + i (mod M): with M = 5 and L = 3, the
// windows {4, 0, 1}, {1, 2, 3} and {3, 4, 0}, so frame 0 takes two windows' velocities.
TEST(Condition, ACycleTakesEachFramesMeanVelocityOverTheWindowsRoundIt) {
  Generator init(1);
  const DiTConfig c = conditioned_config();
  DiT model(c, init);
  randomise(model, 71, 0.1f);
  const int64_t M = 5, L = 3, C = 4, hw = 4;
  const Dims shape = {C, M, 2, 2};
  GenerateOptions o{.steps = 1, .sampler = flow::Sampler::kEuler, .guidance = 1.0f, .seed = 9};
  o.cycle_window = L;
  const Tensor z = generate_latents(model, shape, {3, 4}, o);

  Generator gen(9);  // generate_latents' start noise
  Tensor x1 = Tensor::empty(shape);
  gen.normal_(x1);
  const std::vector<std::vector<int64_t>> windows = {{4, 0, 1}, {1, 2, 3}, {3, 4, 0}};
  std::vector<float> v(x1.numel(), 0.0f), takers(M, 0.0f);
  for (const std::vector<int64_t>& frames : windows) {
    Tensor w = Tensor::empty({C, L, 2, 2});
    for (int64_t i = 0; i < L; ++i)
      w.slice(1, i, i + 1).copy_(x1.slice(1, frames[i], frames[i] + 1));
    const Tensor in = with_mask_channel(w, Tensor::zeros({1, L, 2, 2}));
    const std::vector<float> wv =
        model.forward({Var(in)}, {1.0f}, {{3, 4}})[0].value().contiguous().to_vector();
    for (int64_t i = 1; i < L; ++i) {
      ++takers[frames[i]];
      for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t k = 0; k < hw; ++k)
          v[(ch * M + frames[i]) * hw + k] += wv[(ch * L + i) * hw + k];
    }
  }
  EXPECT_EQ(takers, (std::vector<float>{2, 1, 1, 1, 1}));
  Tensor expected = x1.clone();
  float* pe = expected.data<float>();
  for (int64_t ch = 0; ch < C; ++ch)
    for (int64_t f = 0; f < M; ++f)
      for (int64_t k = 0; k < hw; ++k)
        pe[(ch * M + f) * hw + k] -= v[(ch * M + f) * hw + k] / takers[f];
  testing::expect_close(z, denormalize_latents(c, expected), 1e-5f, 1e-5f, "cycle");

  // The cuts move on each step: two steps differ from the plain clip's, and repeat exactly.
  o.steps = 2;
  const Tensor a = generate_latents(model, shape, {3, 4}, o);
  EXPECT_EQ(a.to_vector(), generate_latents(model, shape, {3, 4}, o).to_vector());
  GenerateOptions plain = o;
  plain.cycle_window = 0;
  EXPECT_NE(a.to_vector(), generate_latents(model, shape, {3, 4}, plain).to_vector());
  // What a cycle cannot take.
  o.cycle_window = 6;
  testing::expect_error(
      [&] {
        generate_latents(model, shape, {3, 4}, o);
      },
      "a cycle of 5 latent frames cannot be sampled through windows of 6",
      "2 to the cycle's length");
  o.cycle_window = L;
  const Tensor known = Tensor::zeros(shape), mask = frame_mask(M, 2, 2, {0});
  o.known = &known;
  o.known_mask = &mask;
  testing::expect_error(
      [&] {
        generate_latents(model, shape, {3, 4}, o);
      },
      "a cycle is generated whole", "without known frames");
}

// Edits of one input by a frame-conditioned model with random weights.
class Edit : public ::testing::Test {
 protected:
  Edit() : init_(1), model_(conditioned_config(), init_) { randomise(model_, 90, 0.1f); }
  // The largest distance of an element of z from the input's.
  double farthest(const Tensor& z) const {
    const std::vector<float> a = z.to_vector(), b = input_.to_vector();
    double far = 0.0;
    for (size_t i = 0; i < a.size(); ++i) far = std::max(far, std::abs(double{a[i]} - b[i]));
    return far;
  }

  Generator init_;
  DiT model_;
  const Dims shape_ = {4, 2, 2, 2};
  const Tensor input_ = testing::randn(shape_, 8);
};

TEST_F(Edit, SDEditStartsFromTheNoisedInput) {
  GenerateOptions o{.steps = 6, .guidance = 1.0f, .seed = 4};
  const Tensor plain = generate_latents(model_, shape_, {3}, o);
  o.init = &input_;
  o.strength = 1.0f;  // noised all the way: the input is gone
  EXPECT_EQ(generate_latents(model_, shape_, {3}, o).to_vector(), plain.to_vector());
  o.strength = 0.02f;  // barely noised: the result stays near the input
  EXPECT_LT(farthest(generate_latents(model_, shape_, {3}, o)), 0.2);
  o.strength = 1.5f;
  testing::expect_error([&] { generate_latents(model_, shape_, {3}, o); }, "strength", "(0, 1]");
}

// FlowEdit with the source prompt equal to the prompt: the two guided velocities are the same,
// and the input comes back (the conditional and unconditional clips of both run in one packed
// sequence, so only the float order of the batch can differ). Another source prompt moves it.
TEST_F(Edit, FlowEditMovesTheInputOnlyByThePromptsDifference) {
  const std::vector<int32_t> prompt = {3, 4}, other = {5};
  GenerateOptions o{.steps = 6, .guidance = 3.0f, .seed = 4};
  o.init = &input_;
  o.strength = 0.9f;
  o.source_prompt = &prompt;
  testing::expect_close(generate_latents(model_, shape_, prompt, o), input_, 1e-5f, 1e-5f, "same");
  o.source_prompt = &other;
  const Tensor moved = generate_latents(model_, shape_, prompt, o);
  EXPECT_GT(farthest(moved), 1e-3);
  EXPECT_EQ(generate_latents(model_, shape_, prompt, o).to_vector(),
            moved.to_vector());  // deterministic
  o.source_guidance = 1.0f;      // the source's own scale
  EXPECT_NE(generate_latents(model_, shape_, prompt, o).to_vector(), moved.to_vector());
  o.init = nullptr;
  testing::expect_error([&] { generate_latents(model_, shape_, prompt, o); }, "source prompt",
                        "give the input");
}

TEST(Condition, ConfigReadsAndChecksTheKeys) {
  const DiTConfig c = parse_dit_config(R"({"frame_conditioning": true, "condition_rate": 0.3})");
  EXPECT_TRUE(c.frame_conditioning);
  EXPECT_FLOAT_EQ(c.condition_rate, 0.3f);
  EXPECT_EQ(c.input_channels(), c.latent_channels + 1);
  EXPECT_EQ(c.condition_masks, (std::array<int64_t, 5>{1, 1, 1, 1, 1}));
  const DiTConfig back = parse_dit_config(dit_config_json(c));
  EXPECT_TRUE(back.frame_conditioning);
  testing::expect_error([] { parse_dit_config(R"({"condition_rate": 2})"); }, "condition_rate",
                        "[0, 1]");
  // Mask weights: the kinds named change, the others keep 1; the file's JSON round-trips them.
  const DiTConfig w = parse_dit_config(R"({"condition_masks": {"tail": 2, "ends": 4}})");
  EXPECT_EQ(w.condition_masks, (std::array<int64_t, 5>{1, 1, 2, 4, 1}));
  EXPECT_EQ(parse_dit_config(dit_config_json(w)).condition_masks, w.condition_masks);
  testing::expect_error([] { parse_dit_config(R"({"condition_masks": {"middle": 1}})"); },
                        "unknown mask kind \"middle\"", "first, head, tail, ends, random");
  testing::expect_error([] { parse_dit_config(R"({"condition_masks": {"ends": 0.5}})"); },
                        "\"ends\"", "whole-number weight");
  testing::expect_error([] { parse_dit_config(R"({"condition_masks": [1, 2]})"); },
                        "condition_masks", "e.g. {\"ends\": 3}");
  testing::expect_error(
      [] {
        parse_dit_config(
            R"({"condition_masks": {"first": 0, "head": 0, "tail": 0, "ends": 0, "random": 0}})");
      },
      "condition_masks", "above 0");
}

TEST(LatentNormalization, InvertsAndSamplesInTheModelsSpace) {
  DiTConfig c = conditioned_config();
  c.latent_mean = {0.5f, -1.0f, 2.0f, 0.0f};
  c.latent_std = {2.0f, 0.5f, 1.0f, 4.0f};
  const Tensor z = testing::randn({4, 2, 2, 2}, 3);
  testing::expect_close(denormalize_latents(c, normalize_latents(c, z)), z, 1e-6f, 1e-6f,
                        "round trip");
  EXPECT_NEAR(normalize_latents(c, Tensor::full({4, 1, 1, 1}, 0.5f)).to_vector()[0], 0.0f, 1e-7);

  // Sampling runs in the normalized space: a model with statistics gives the denormalized
  // latents of the same model without them.
  DiTConfig plain = c;
  plain.latent_mean.clear();
  plain.latent_std.clear();
  Generator g1(1), g2(1);
  DiT with(c, g1), without(plain, g2);
  randomise(with, 30, 0.1f);
  randomise(without, 30, 0.1f);
  const Dims shape = {4, 2, 2, 2};
  const GenerateOptions o{.steps = 3, .guidance = 2.0f, .seed = 9};
  EXPECT_EQ(generate_latents(with, shape, {3}, o).to_vector(),
            denormalize_latents(c, generate_latents(without, shape, {3}, o)).to_vector());

  const DiTConfig back = parse_dit_config(dit_config_json(c));
  EXPECT_EQ(back.latent_mean, c.latent_mean);
  EXPECT_EQ(back.latent_std, c.latent_std);
  testing::expect_error([] { parse_dit_config(R"({"latent_mean": [1], "latent_std": [1]})"); },
                        "latent_mean", "one number per latent channel");
  testing::expect_error(
      [] { parse_dit_config(R"({"latent_channels": 1, "latent_mean": [1], "latent_std": [0]})"); },
      "latent_std", "positive");
}

}  // namespace
}  // namespace cubist
