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

}  // namespace cubist::flow
