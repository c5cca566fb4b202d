// Rectified flow: the time distribution and shift, the samplers on flows whose exact velocity is
// known, guidance, and known-latent conditioning.
#include <cmath>

#include "core/error.h"
#include "diffusion/flow.h"
#include "diffusion/flow_edit.h"
#include "testing.h"

namespace cubist {
namespace {

TEST(Flow, InterpolationAndTarget) {
  const Tensor x0 = Tensor::from_vector({2}, {1.0f, -2.0f});
  const Tensor e = Tensor::from_vector({2}, {0.5f, 0.5f});
  EXPECT_EQ(flow::noisy(x0, e, 0.0f).to_vector(), x0.to_vector());
  EXPECT_EQ(flow::noisy(x0, e, 1.0f).to_vector(), e.to_vector());
  EXPECT_EQ(flow::noisy(x0, e, 0.25f).to_vector(), (std::vector<float>{0.875f, -1.375f}));
  EXPECT_EQ(flow::velocity_target(x0, e).to_vector(), (std::vector<float>{-0.5f, 2.5f}));
}

TEST(Flow, LogitNormalAndShift) {
  Generator gen(1);
  double mean = 0;
  int mid = 0;
  for (int i = 0; i < 4000; ++i) {
    const float t = flow::logit_normal(gen);
    ASSERT_TRUE(t > 0.0f && t < 1.0f);
    mean += t / 4000.0;
    mid += t > 0.25f && t < 0.75f;
  }
  EXPECT_NEAR(mean, 0.5, 0.02);
  EXPECT_GT(mid, 4000 * 0.6);  // 68% of a logit-normal(0, 1) lies in (0.25, 0.75)
  EXPECT_FLOAT_EQ(flow::shift_time(0.5f, 3.0f), 0.75f);
  EXPECT_FLOAT_EQ(flow::shift_time(0.0f, 3.0f), 0.0f);
  EXPECT_FLOAT_EQ(flow::shift_time(1.0f, 3.0f), 1.0f);
  EXPECT_FLOAT_EQ(flow::resolution_shift(1024, 256), 2.0f);  // sqrt(4)
  const std::vector<float> s = flow::schedule(4, 2.0f);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s.front(), 1.0f);
  EXPECT_EQ(s.back(), 0.0f);
  for (size_t i = 1; i < s.size(); ++i) EXPECT_LT(s[i], s[i - 1]);
  EXPECT_THROW(flow::schedule(0), Error);
  EXPECT_THROW(flow::sampler_named("ddim"), Error);
}

// Data at one point: the velocity (x - x0) / t is exact and the path straight, so one Euler step
// lands on the point.
TEST(Flow, EulerWithTheExactVelocityLandsOnThePoint) {
  const Tensor point = Tensor::from_vector({3}, {0.5f, -1.0f, 2.0f});
  const Tensor noise = testing::randn({3}, 4);
  auto v = [&](const Tensor& x, float t) {
    std::vector<float> out = x.to_vector(), p = point.to_vector();
    for (size_t i = 0; i < out.size(); ++i) out[i] = (out[i] - p[i]) / t;
    return Tensor::from_vector({3}, out);
  };
  for (int steps : {1, 7})
    testing::expect_close(
        flow::sample(v, noise, flow::schedule(steps, 3.0f), flow::Sampler::kEuler), point, 1e-5f,
        1e-5f, "Euler");
}

// Data from N(mu, sigma^2): the exact flow maps noise z to mu + sigma z along a curved path, with
// velocity v(x, t) = (t - (1-t) sigma^2) / s^2 (x - (1-t) mu) - mu, s^2 = (1-t)^2 sigma^2 + t^2.
TEST(Flow, HeunIsMoreAccurateThanEulerOnACurvedFlow) {
  const float mu = 2.0f, sigma = 0.1f;
  auto v = [&](const Tensor& x, float t) {
    const float a = 1.0f - t, s2 = a * a * sigma * sigma + t * t;
    std::vector<float> out = x.to_vector();
    for (float& o : out) o = (t - a * sigma * sigma) / s2 * (o - a * mu) - mu;
    return Tensor::from_vector(x.shape(), out);
  };
  const Tensor z = testing::randn({16}, 5);
  std::vector<float> exact = z.to_vector();
  for (float& e : exact) e = mu + sigma * e;
  auto error = [&](flow::Sampler s) {
    const std::vector<float> x = flow::sample(v, z, flow::schedule(8), s).to_vector();
    double err = 0;
    for (size_t i = 0; i < x.size(); ++i) err = std::max(err, double(std::fabs(x[i] - exact[i])));
    return err;
  };
  const double euler = error(flow::Sampler::kEuler), heun = error(flow::Sampler::kHeun);
  EXPECT_LT(heun, euler / 3) << "Euler " << euler << ", Heun " << heun;
  EXPECT_LT(heun, 0.05);
}

TEST(Flow, Guidance) {
  const Tensor c = Tensor::from_vector({2}, {1.0f, 2.0f}), u = Tensor::from_vector({2}, {0, 1});
  EXPECT_EQ(flow::guide(c, u, 1.0f).to_vector(), c.to_vector());
  EXPECT_EQ(flow::guide(c, u, 0.0f).to_vector(), u.to_vector());
  EXPECT_EQ(flow::guide(c, u, 3.0f).to_vector(), (std::vector<float>{3.0f, 4.0f}));
}

// Projected guidance removes the part of the guidance along the conditional clean prediction:
// what is left moves x0 = x - t v orthogonally to x0_cond, and scale 1 gives v_cond.
TEST(Flow, ProjectedGuidance) {
  const Tensor x = testing::randn({4, 3, 2, 2}, 1), c = testing::randn({4, 3, 2, 2}, 2),
               u = testing::randn({4, 3, 2, 2}, 3);
  const float t = 0.6f, scale = 5.0f;
  EXPECT_EQ(flow::guide_projected(x, t, c, u, 1.0f).to_vector(), c.to_vector());
  const Tensor v = flow::guide_projected(x, t, c, u, scale);
  const std::vector<float> xv = x.to_vector(), cv = c.to_vector(), vv = v.to_vector(),
                           cfg = flow::guide(c, u, scale).to_vector();
  double along = 0.0, norm = 0.0, changed = 0.0;
  for (size_t i = 0; i < xv.size(); ++i) {
    const double x0c = xv[i] - t * cv[i], moved = -t * (vv[i] - cv[i]);  // x0 - x0_cond
    along += moved * x0c;
    norm += moved * moved;
    changed += std::abs(vv[i] - cfg[i]);
  }
  EXPECT_LT(std::abs(along), 1e-3 * norm) << "the guidance keeps a part along x0_cond";
  EXPECT_GT(changed, 0.1) << "no different from classifier-free guidance";
  // Guidance already orthogonal to x0_cond is left as classifier-free guidance gives it.
  const Tensor side = Tensor::from_vector({2}, {0.0f, 1.0f});
  EXPECT_EQ(flow::guide_projected(Tensor::from_vector({2}, {1.0f, 0.0f}), t,
                                  Tensor::from_vector({2}, {0.0f, 0.0f}), side, scale)
                .to_vector(),
            flow::guide(Tensor::from_vector({2}, {0.0f, 0.0f}), side, scale).to_vector());
  EXPECT_EQ(flow::guide(flow::GuidanceRule::kClassifierFree, x, t, c, u, scale).to_vector(), cfg);
  EXPECT_EQ(flow::guide(flow::GuidanceRule::kProjected, x, t, c, u, scale).to_vector(), vv);
}

TEST(Flow, ProjectedGuidanceMatchesPyTorch) {
  const Tensor x = testing::randn({16, 2, 4, 4}, 4), c = testing::randn({16, 2, 4, 4}, 5),
               u = testing::randn({16, 2, 4, 4}, 6);
  auto ref = testing::torch_reference("guide_projected", {{"x", x}, {"v_cond", c}, {"v_uncond", u}},
                                      {{"t", "0.35"}, {"scale", "4.5"}});
  TORCH_OR_SKIP(ref);
  testing::expect_close(flow::guide_projected(x, 0.35f, c, u, 4.5f), ref->at("v"), 1e-5f, 1e-5f,
                        "v");
}

TEST(Flow, GuidanceRules) {
  EXPECT_EQ(flow::guidance_rule_named("cfg"), flow::GuidanceRule::kClassifierFree);
  EXPECT_EQ(flow::guidance_rule_named("projected"), flow::GuidanceRule::kProjected);
  EXPECT_STREQ(flow::guidance_rule_name(flow::GuidanceRule::kProjected), "projected");
  EXPECT_STREQ(flow::guidance_rule_name(flow::GuidanceRule::kClassifierFree), "cfg");
  testing::expect_error([] { flow::guidance_rule_named("apg"); }, "flow",
                        "accepted: cfg, projected");
  testing::expect_error(
      [] {
        flow::guide_projected(Tensor::zeros({2}), 0.5f, Tensor::zeros({3}), Tensor::zeros({3}), 2);
      },
      "guide_projected", "one shape");
}

TEST(Flow, ScheduleFromAStartTime) {
  // From 1: the plain schedule. From s < 1 (SDEdit): starts at s exactly, ends at 0, decreasing,
  // and is the tail of the full schedule's spacing (evenly spaced before the shift).
  const float shift = 3.0f;
  const std::vector<float> full = flow::schedule(8, shift), half = flow::schedule(4, shift, 0.6f);
  EXPECT_EQ(full.front(), 1.0f);
  EXPECT_EQ(half.front(), 0.6f);
  EXPECT_EQ(half.back(), 0.0f);
  for (size_t i = 0; i + 1 < half.size(); ++i) EXPECT_GT(half[i], half[i + 1]);
  const float u0 = flow::unshift_time(0.6f, shift);
  EXPECT_NEAR(flow::shift_time(u0, shift), 0.6f, 1e-6f);
  EXPECT_NEAR(half[2], flow::shift_time(u0 / 2, shift), 1e-6f);
  EXPECT_THROW(flow::schedule(4, shift, 0.0f), Error);
  EXPECT_THROW(flow::schedule(4, shift, 1.5f), Error);
}

// The exact velocity of data at one point p: (x - p) / t.
Tensor towards(const Tensor& point, const Tensor& x, float t) {
  std::vector<float> out = x.to_vector();
  const std::vector<float> p = point.to_vector();
  for (size_t i = 0; i < out.size(); ++i) out[i] = (out[i] - p[i]) / t;
  return Tensor::from_vector(x.shape(), out);
}

// Source data at a, target data at b: FlowEdit's path from a is then dz/dt = (z - b) / t, which
// Euler steps follow exactly to b, whatever noise is drawn; the coordinate where a and b agree
// never moves.
TEST(FlowEdit, MapsOnePointToAnother) {
  const Tensor a = Tensor::from_vector({3}, {0.5f, -1.0f, 2.0f});
  const Tensor b = Tensor::from_vector({3}, {-1.5f, -1.0f, 0.25f});
  auto difference = [&](const Tensor& target, const Tensor& source, float t) {
    const std::vector<float> vt = towards(b, target, t).to_vector(),
                             vs = towards(a, source, t).to_vector();
    std::vector<float> d(vt.size());
    for (size_t i = 0; i < d.size(); ++i) d[i] = vt[i] - vs[i];
    return Tensor::from_vector({3}, d);
  };
  for (const float start : {1.0f, 0.6f}) {
    Generator gen(5);
    int calls = 0;
    const Tensor z =
        flow::edit(difference, a, flow::schedule(6, 2.0f, start), gen, [&](int done, int total) {
          EXPECT_EQ(total, 6);
          calls = done;
        });
    testing::expect_close(z, b, 1e-5f, 1e-5f, "FlowEdit");
    EXPECT_EQ(z.to_vector()[1], -1.0f);
    EXPECT_EQ(calls, 6);
  }
}

// One velocity field for both prompts: the edit's noisy latents are the source's (z starts at
// the source and carries the source's noise), so the difference is 0 and nothing moves (up to
// float rounding: z + z_src - x_src is z_src to the last bit only in exact arithmetic). A field
// that depends on x non-linearly tells a wrongly built z_tar from the right one.
TEST(FlowEdit, OneFieldForBothKeepsTheSource) {
  const Tensor a = testing::randn({2, 3}, 7);
  std::vector<std::pair<std::vector<float>, std::vector<float>>> seen;
  auto difference = [&](const Tensor& target, const Tensor& source, float) {
    seen.emplace_back(target.to_vector(), source.to_vector());
    std::vector<float> d = target.to_vector();
    const std::vector<float> s = source.to_vector();
    for (size_t i = 0; i < d.size(); ++i) d[i] = std::sin(3 * d[i]) - std::sin(3 * s[i]);
    return Tensor::from_vector(target.shape(), d);
  };
  Generator gen(2);
  const Tensor z = flow::edit(difference, a, flow::schedule(5, 1.0f, 0.8f), gen);
  testing::expect_close(z, a, 1e-6f, 1e-6f, "kept");
  ASSERT_EQ(seen.size(), 5u);
  for (const auto& [target, source] : seen)
    for (size_t i = 0; i < target.size(); ++i) EXPECT_NEAR(target[i], source[i], 1e-6f);
  EXPECT_NE(seen[0].second, seen[1].second);  // fresh noise at every step
  EXPECT_NE(seen[0].second, a.to_vector());   // noised
}

}  // namespace
}  // namespace cubist
