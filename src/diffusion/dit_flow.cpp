#include "diffusion/dit_flow.h"

#include "autograd/loss.h"
#include "core/error.h"
#include "models/text/tokenizer.h"

namespace cubist {

FlowLoss flow_matching_loss(const DiT& model, const std::vector<Tensor>& latents,
                            const Prompts& prompts, Generator& gen) {
  const DiTConfig& cfg = model.config();
  CUBIST_CHECK(!latents.empty() && latents.size() == prompts.size(), "flow loss: ", latents.size(),
               " clips and ", prompts.size(),
               " prompts (one per clip, at least "
               "one clip)");
  FlowLoss out;
  Prompts used = prompts;
  std::vector<Var> inputs, targets;
  for (size_t i = 0; i < latents.size(); ++i) {
    const PatchGrid grid = patch_grid(latents[i].shape(), cfg.patch);
    const float s = flow::resolution_shift(grid.tokens(), cfg.shift_base_tokens, cfg.shift_base);
    const float t = flow::shift_time(flow::logit_normal(gen, cfg.logit_mean, cfg.logit_std), s);
    const bool drop = gen.uniform() < cfg.caption_dropout;
    if (drop) used[i] = {text::kEmpty};
    Tensor noise = Tensor::empty(latents[i].shape());
    gen.normal_(noise);
    inputs.emplace_back(flow::noisy(latents[i], noise, t));
    targets.emplace_back(flow::velocity_target(latents[i], noise));
    out.times.push_back(t);
    out.dropped.push_back(drop);
  }
  PackLayout layout;
  const Var x = pack_clips(inputs, cfg.patch, &layout);
  const Var target = pack_clips(targets, cfg.patch, nullptr);
  out.loss = mse_loss(model.forward_tokens(x, layout, out.times, used), target);
  return out;
}

Tensor generate_latents(const DiT& model, const Dims& shape, const std::vector<int32_t>& prompt,
                        const GenerateOptions& o) {
  const DiTConfig& cfg = model.config();
  CUBIST_CHECK(shape.size() == 4 && shape[0] == cfg.latent_channels, "generate: latents must be [",
               cfg.latent_channels, ", T, H, W], got ", shape);
  const PatchGrid grid = patch_grid(shape, cfg.patch);
  const float shift =
      o.shift > 0.0f ? o.shift
                     : flow::resolution_shift(grid.tokens(), cfg.shift_base_tokens, cfg.shift_base);
  const bool guided = o.guidance != 1.0f;
  // Conditional and unconditional clips side by side in one packed sequence.
  const PackLayout layout =
      pack_layout(guided ? std::vector<PatchGrid>{grid, grid} : std::vector<PatchGrid>{grid});
  const Prompts prompts = guided ? Prompts{prompt, {text::kEmpty}} : Prompts{prompt};
  NoGrad no_grad;
  const EncodedText text = model.encode_text(prompts);
  auto velocity = [&](const Tensor& x, float t) {
    const Var xv(x);
    const Var tokens = guided ? pack_clips({xv, xv}, cfg.patch, nullptr) : patchify(xv, cfg.patch);
    const std::vector<float> times(prompts.size(), t);
    const std::vector<Var> v = unpack_clips(model.forward_tokens(tokens, layout, times, text),
                                            layout, cfg.patch, cfg.latent_channels);
    return guided ? flow::guide(v[0].value(), v[1].value(), o.guidance) : v[0].value();
  };
  Generator gen(o.seed);
  Tensor noise = Tensor::empty(shape);
  gen.normal_(noise);
  return flow::sample(velocity, noise, flow::schedule(o.steps, shift), o.sampler, o.known,
                      o.on_step);
}

}  // namespace cubist
