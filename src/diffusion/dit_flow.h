// Rectified flow with the DiT: the training loss of a packed batch of clips (each clip its own
// time, noise and prompt; captions dropped at the config's rate for classifier-free guidance),
// and generation with guidance, deterministic from a seed.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "diffusion/flow.h"
#include "models/dit/dit.h"

namespace cubist {

struct FlowLoss {
  Var loss;  // mean squared error of the velocity over every generated element of every clip
  double elements = 0;         // how many elements that mean is over (to average over processes)
  std::vector<float> times;    // the time drawn for each clip
  std::vector<bool> dropped;   // whether the clip's prompt was replaced by the empty prompt
  std::vector<int64_t> known;  // latent frames held known in each clip (frame conditioning)
};

// Clip i draws from draws.substream(places[i]) (its place in the step's batch; i when `places`
// is empty), in this order: t = shift_time(logit_normal), with the shift of the clip's token
// count; whether its caption is dropped; its noise; with frame conditioning, whether it is
// conditioned (condition_rate) and its random known-frame mask (diffusion/condition.h): known
// frames enter clean, beside the mask channel, and are left out of the loss. So a clip's draws
// depend on its place in the batch alone, and a batch dealt out in parts, each with its clips'
// places, draws as it would whole. Clips are packed into one sequence.
FlowLoss flow_matching_loss(const DiT& model, const std::vector<Tensor>& latents,
                            const Prompts& prompts, const Generator& draws,
                            const std::vector<int64_t>& places = {});

struct GenerateOptions {
  int steps = 30;
  flow::Sampler sampler = flow::Sampler::kHeun;
  float guidance = 4.0f;  // 1 = no guidance (one evaluation per velocity)
  // Guidance's unconditional input: a negative prompt, steered away from (what the video should
  // not show); null: the empty prompt, as training drops captions to.
  const std::vector<int32_t>* negative_prompt = nullptr;
  // How the conditional and unconditional velocities combine (diffusion/flow.h).
  flow::GuidanceRule guidance_rule = flow::GuidanceRule::kClassifierFree;
  uint64_t seed = 0;
  float shift = 0.0f;  // 0 = the config's resolution-dependent shift for this size
  // Image and video prompts (a frame-conditioned model): latents [C, T, H, W] whose frames under
  // known_mask [1, T, H, W] are given; they are held clean and come out exactly as given.
  const Tensor* known = nullptr;
  const Tensor* known_mask = nullptr;
  // SDEdit: start from `init` [C, T, H, W] noised to time `strength` in (0, 1] instead of from
  // pure noise (strength 1 ignores the input; small strengths keep more of it).
  const Tensor* init = nullptr;
  float strength = 1.0f;
  // With `init`: FlowEdit instead (diffusion/flow_edit.h), from the input under this prompt (what
  // the input shows) to the prompt given, by Euler steps whatever `sampler` says. The input is
  // changed only where the two prompts disagree. source_guidance is the source velocity's
  // classifier-free guidance scale (0: the same as `guidance`).
  const std::vector<int32_t>* source_prompt = nullptr;
  float source_guidance = 0.0f;
  flow::StepFn on_step = {};  // after each sampling step (a progress bar)
  // Guidance by a loss on the clean latents that a velocity predicts (x - t v, in the
  // autoencoder's scale): `guide` returns the loss's gradient there, and the first velocity of
  // each step (Heun's predictor; every one with Euler) moves along it by guide_scale, so the
  // sample is drawn towards a low loss while the transformer keeps denoising it. Unset or a
  // scale of 0: none.
  std::function<Tensor(const Tensor& clean)> guide = {};
  float guide_scale = 0.0f;
  // Loops: with L > 0, the latents [C, M, H, W] are a cycle (frame M - 1 runs on into frame 0),
  // sampled through windows of L latent frames cut round it at places that move every step, so
  // that no place of the cycle is a window's edge for long and the cycle has no seam. M >= L; not
  // with known frames, `init` or `guide`.
  int64_t cycle_window = 0;
};

// Latents of `shape` [C, T, H, W] for a prompt. With guidance, the conditional and the
// unconditional (empty prompt) predictions are computed together as two clips of one packed
// sequence. The same seed gives the same latents.
Tensor generate_latents(const DiT& model, const Dims& shape, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options);

}  // namespace cubist
