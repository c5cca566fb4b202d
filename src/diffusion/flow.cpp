#include "diffusion/flow.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace cubist::flow {
namespace {

// out = a x + b y, elementwise over contiguous f32 tensors of one shape.
Tensor axpby(float a, const Tensor& x, float b, const Tensor& y) {
  CUBIST_CHECK(x.shape() == y.shape(), "flow: shapes ", x.shape(), " and ", y.shape(), " differ");
  const Tensor xc = x.contiguous(), yc = y.contiguous();
  Tensor out = Tensor::empty(x.shape());
  const float* px = xc.data<float>();
  const float* py = yc.data<float>();
  float* po = out.data<float>();
  const int64_t n = out.numel();
  for (int64_t i = 0; i < n; ++i) po[i] = a * px[i] + b * py[i];
  return out;
}

}  // namespace

float logit_normal(Generator& gen, float mean, float std) {
  const float z = mean + std * gen.normal();
  return 1.0f / (1.0f + std::exp(-z));
}

float shift_time(float t, float shift) {
  CUBIST_CHECK(shift > 0.0f, "flow: the time shift must be positive, got ", shift);
  return shift * t / (1.0f + (shift - 1.0f) * t);
}

float resolution_shift(int64_t tokens, int64_t base_tokens, float base_shift) {
  CUBIST_CHECK(tokens > 0 && base_tokens > 0, "flow: token counts must be positive");
  return base_shift * static_cast<float>(std::sqrt(static_cast<double>(tokens) / base_tokens));
}

Tensor noisy(const Tensor& x0, const Tensor& noise, float t) {
  return axpby(1.0f - t, x0, t, noise);
}

Tensor velocity_target(const Tensor& x0, const Tensor& noise) {
  return axpby(-1.0f, x0, 1.0f, noise);
}

float unshift_time(float t, float shift) {
  CUBIST_CHECK(shift > 0.0f, "flow: the time shift must be positive, got ", shift);
  return t / (shift - (shift - 1.0f) * t);
}

std::vector<float> schedule(int steps, float shift, float start) {
  CUBIST_CHECK(steps >= 1, "flow: the number of sampling steps must be at least 1, got ", steps);
  CUBIST_CHECK(start > 0.0f && start <= 1.0f, "flow: a schedule starts at a time in (0, 1], got ",
               start);
  const float u0 = start == 1.0f ? 1.0f : unshift_time(start, shift);
  std::vector<float> t(static_cast<size_t>(steps) + 1);
  for (int i = 0; i <= steps; ++i)
    t[static_cast<size_t>(i)] = shift_time(u0 * (1.0f - static_cast<float>(i) / steps), shift);
  t.front() = start;
  t.back() = 0.0f;
  return t;
}

Sampler sampler_named(std::string_view name) {
  if (name == "euler") return Sampler::kEuler;
  if (name == "heun") return Sampler::kHeun;
  fail("flow: unknown sampler \"", std::string(name), "\" (accepted: euler, heun)");
}

Tensor sample(const VelocityFn& velocity, const Tensor& start, const std::vector<float>& times,
              Sampler sampler, const StepFn& on_step) {
  CUBIST_CHECK(times.size() >= 2, "flow: a schedule needs at least two times");
  Tensor x = start.contiguous().clone();
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    const float t = times[i], dt = times[i + 1] - t;
    const Tensor v1 = velocity(x, t);
    if (sampler == Sampler::kEuler) {
      x = axpby(1.0f, x, dt, v1);
    } else {
      const Tensor pred = axpby(1.0f, x, dt, v1);
      const Tensor v2 = velocity(pred, times[i + 1]);
      x = axpby(1.0f, x, dt, axpby(0.5f, v1, 0.5f, v2));
    }
    if (on_step) on_step(static_cast<int>(i + 1), static_cast<int>(times.size() - 1));
  }
  return x;
}

Tensor guide(const Tensor& v_cond, const Tensor& v_uncond, float scale) {
  return axpby(scale, v_cond, 1.0f - scale, v_uncond);
}

Tensor guide_projected(const Tensor& x, float t, const Tensor& v_cond, const Tensor& v_uncond,
                       float scale) {
  CUBIST_CHECK(x.shape() == v_cond.shape() && v_cond.shape() == v_uncond.shape(),
               "guide_projected: x ", x.shape(), ", v_cond ", v_cond.shape(), " and v_uncond ",
               v_uncond.shape(), " must have one shape");
  const Tensor xc = x.contiguous(), c = v_cond.contiguous(), u = v_uncond.contiguous();
  const float *px = xc.data<float>(), *pc = c.data<float>(), *pu = u.data<float>();
  const int64_t n = x.numel();
  // <d, x0c> and <x0c, x0c> in double: sums over a whole clip.
  double dot = 0.0, norm = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double x0 = static_cast<double>(px[i]) - static_cast<double>(t) * pc[i];
    dot += (static_cast<double>(pc[i]) - pu[i]) * x0;
    norm += x0 * x0;
  }
  Tensor out = guide(c, u, scale).contiguous();
  if (norm == 0.0) return out;  // no direction to project out
  const double k = (static_cast<double>(scale) - 1.0) * dot / norm;
  float* po = out.data<float>();
  for (int64_t i = 0; i < n; ++i)
    po[i] -= static_cast<float>(k * (static_cast<double>(px[i]) - static_cast<double>(t) * pc[i]));
  return out;
}

GuidanceRule guidance_rule_named(std::string_view name) {
  if (name == "cfg") return GuidanceRule::kClassifierFree;
  if (name == "projected") return GuidanceRule::kProjected;
  fail("flow: unknown guidance rule \"", std::string(name), "\" (accepted: cfg, projected)");
}

const char* guidance_rule_name(GuidanceRule rule) {
  return rule == GuidanceRule::kProjected ? "projected" : "cfg";
}

Tensor guide(GuidanceRule rule, const Tensor& x, float t, const Tensor& v_cond,
             const Tensor& v_uncond, float scale) {
  return rule == GuidanceRule::kProjected ? guide_projected(x, t, v_cond, v_uncond, scale)
                                          : guide(v_cond, v_uncond, scale);
}

}  // namespace cubist::flow
