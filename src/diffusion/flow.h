// Rectified flow (flow matching with straight paths; Liu et al. 2022, Lipman et al. 2022, as in
// Stable Diffusion 3). Convention, used everywhere in Cubist:
//
//   x_t = (1 - t) x0 + t eps,   t in [0, 1]: t = 0 is data, t = 1 is pure noise eps ~ N(0, I)
//   v   = dx_t/dt = eps - x0     (the network predicts v)
//
// Training draws t from a logit-normal (sigmoid of a normal), which puts most steps in the
// middle, then shifts it towards noise for larger inputs: t' = s t / (1 + (s - 1) t), with
// s = shift_base * sqrt(tokens / shift_base_tokens) (SD3's resolution-dependent shift: more
// tokens carry more redundant signal, so the same t destroys less of it). Sampling integrates
// dx/dt = v from t = 1 down to 0 over the same shifted schedule, by Euler or Heun steps.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace cubist::flow {

float logit_normal(Generator& gen, float mean = 0.0f, float std = 1.0f);
float shift_time(float t, float shift);
float resolution_shift(int64_t tokens, int64_t base_tokens, float base_shift = 1.0f);

Tensor noisy(const Tensor& x0, const Tensor& noise, float t);   // (1 - t) x0 + t noise
Tensor velocity_target(const Tensor& x0, const Tensor& noise);  // noise - x0

// steps + 1 times from `start` down to 0, evenly spaced before the shift: shift_time(u_i, shift)
// with u_i from u_0 = the unshifted time of `start` down to 0. start = 1 is generation from
// noise; start < 1 is SDEdit (an input noised to `start`, then denoised).
std::vector<float> schedule(int steps, float shift = 1.0f, float start = 1.0f);
// The inverse of shift_time: the unshifted time that shifts to t.
float unshift_time(float t, float shift);

enum class Sampler { kEuler, kHeun };
Sampler sampler_named(std::string_view name);  // "euler" or "heun"; anything else throws

// The velocity at (x, t).
using VelocityFn = std::function<Tensor(const Tensor& x, float t)>;

// Called after each step of a sampler with (steps done, steps in all): progress bars.
using StepFn = std::function<void(int done, int total)>;

// Integrates from x = start at times[0] through times.back(). Euler: x += dt v(x, t). Heun:
// predictor x' = x + dt v1, corrector x += dt (v1 + v(x', t + dt)) / 2 (two evaluations a step).
// Deterministic: the same start gives the same result.
Tensor sample(const VelocityFn& velocity, const Tensor& start, const std::vector<float>& times,
              Sampler sampler, const StepFn& on_step = {});

// Classifier-free guidance: v_uncond + scale (v_cond - v_uncond).
Tensor guide(const Tensor& v_cond, const Tensor& v_uncond, float scale);

// Projected guidance (the projection of Sadat et al. 2024's adaptive projected guidance, without
// its momentum and norm threshold): guidance applied to the clean prediction x0 = x - t v, with
// the part of the guidance x0_cond - x0_uncond that lies along x0_cond removed, over the whole
// clip. That part mostly scales the prediction up (over-saturated colours, stray bright blobs at
// high scales); the orthogonal rest moves it towards the prompt. In velocities:
//   v = guide(v_cond, v_uncond, scale) - (scale - 1) (<d, x0c> / <x0c, x0c>) x0c,
//   d = v_cond - v_uncond, x0c = x - t v_cond.
// x, v_cond, v_uncond: one clip each, of one shape; scale 1 gives v_cond, as guide() does.
Tensor guide_projected(const Tensor& x, float t, const Tensor& v_cond, const Tensor& v_uncond,
                       float scale);

enum class GuidanceRule { kClassifierFree, kProjected };
GuidanceRule guidance_rule_named(std::string_view name);  // "cfg" or "projected"; else throws
const char* guidance_rule_name(GuidanceRule rule);

// The guided velocity under `rule` (x and t are used by kProjected alone).
Tensor guide(GuidanceRule rule, const Tensor& x, float t, const Tensor& v_cond,
             const Tensor& v_uncond, float scale);

}  // namespace cubist::flow
