#include "diffusion/dit_flow.h"

#include "autograd/basic.h"
#include "autograd/loss.h"
#include "core/error.h"
#include "diffusion/condition.h"
#include "diffusion/flow_edit.h"
#include "models/text/tokenizer.h"
#include "ops/elementwise.h"

namespace cubist {

namespace {

// v += scale * d loss / dx at the clean latents x - t v; the loss's gradient in the autoencoder's
// scale is d loss / dx divided by each channel's std (z = x std + mean).
// `known` is normalized, as x is; the clean estimate of held frames is the frames themselves.
void move_along_guide(const DiTConfig& cfg, const Tensor& x, float t, const GenerateOptions& o,
                      const Tensor& known, Tensor& v) {
  const Tensor xc = x.contiguous();
  Tensor clean = Tensor::empty(x.shape());
  const float *px = xc.data<float>(), *pv = v.data<float>();
  float* pc = clean.data<float>();
  for (int64_t i = 0; i < clean.numel(); ++i) pc[i] = px[i] - t * pv[i];
  if (o.known) clean = hold_frames(clean, known, *o.known_mask);
  const Tensor g = o.guide(denormalize_latents(cfg, clean)).contiguous();
  CUBIST_CHECK(g.shape() == x.shape(), "generate: the guide's gradient ", g.shape(),
               " must have the latents' shape ", x.shape());
  const int64_t C = x.size(0), n = x.numel() / C;
  const float* pg = g.data<float>();
  float* out = v.data<float>();
  for (int64_t c = 0; c < C; ++c) {
    const float s = o.guide_scale * (cfg.latent_std.empty() ? 1.0f : cfg.latent_std[c]);
    for (int64_t i = 0; i < n; ++i) out[c * n + i] += s * pg[c * n + i];
  }
}

// The velocities of several latents at one time, latent i under prompt i with guidance scale i:
// with classifier-free guidance each clip runs beside its unconditional twin (the empty prompt,
// or a negative prompt), all of them clips of one packed sequence, so one forward pass serves
// every prompt.
class GuidedVelocities {
 public:
  GuidedVelocities(const DiT& model, const PatchGrid& grid, const Prompts& prompts,
                   std::vector<float> scales, flow::GuidanceRule rule,
                   const std::vector<int32_t>* negative)
      : model_(model), scales_(std::move(scales)), rule_(rule) {
    for (const float s : scales_) guided_ = guided_ || s != 1.0f;
    const std::vector<int32_t> unconditional =
        negative ? *negative : std::vector<int32_t>{text::kEmpty};
    Prompts packed;
    for (const auto& p : prompts) {
      packed.push_back(p);
      if (guided_) packed.push_back(unconditional);
    }
    layout_ = pack_layout(std::vector<PatchGrid>(packed.size(), grid));
    text_ = model.encode_text(packed);
  }

  std::vector<Tensor> operator()(const std::vector<Tensor>& inputs, float t) const {
    const DiTConfig& cfg = model_.config();
    std::vector<Var> clips;
    for (const Tensor& x : inputs) {
      clips.emplace_back(x);
      if (guided_) clips.emplace_back(x);
    }
    const Var tokens =
        clips.size() == 1 ? patchify(clips[0], cfg.patch) : pack_clips(clips, cfg.patch, nullptr);
    const std::vector<Var> v = unpack_clips(
        model_.forward_tokens(tokens, layout_, std::vector<float>(layout_.grids.size(), t), text_),
        layout_, cfg.patch, cfg.latent_channels);
    std::vector<Tensor> out;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!guided_) {
        out.push_back(v[i].value().contiguous());
        continue;
      }
      // The sample itself, without the mask channel of a frame-conditioned model's input.
      const Tensor x = inputs[i].slice(0, 0, cfg.latent_channels);
      out.push_back(flow::guide(rule_, x, t, v[2 * i].value(), v[2 * i + 1].value(), scales_[i])
                        .contiguous());
    }
    return out;
  }

 private:
  const DiT& model_;
  std::vector<float> scales_;
  flow::GuidanceRule rule_;
  bool guided_ = false;
  PackLayout layout_;
  EncodedText text_;
};

// The velocity of a cycle x [C, M, h, w] at time t, from windows of L latent frames cut round it
// (GenerateOptions::cycle_window). At step s, window j holds the frames s - 1 + j (L - 1) + i,
// i < L, all mod M: the cuts move on one frame a step. The transformer reads a window's first
// frame as a clip's lone first frame (the autoencoder's frame 0 stands for one video frame, the
// others for several), so that frame is context only; the other L - 1 take the window's
// velocities, and a frame that two windows take gets their mean.
int64_t cycle_windows(int64_t M, int64_t L) { return (M + L - 2) / (L - 1); }

Tensor cycle_velocity(const GuidedVelocities& velocities, const Tensor& x, float t, int64_t L,
                      int64_t step, bool mask_channel) {
  const int64_t C = x.size(0), M = x.size(1), h = x.size(2), w = x.size(3), hw = h * w;
  const int64_t windows = cycle_windows(M, L);
  auto frame = [&](int64_t j, int64_t i) { return (step - 1 + j * (L - 1) + i + M) % M; };
  std::vector<Tensor> inputs;
  for (int64_t j = 0; j < windows; ++j) {
    Tensor window = Tensor::empty({C, L, h, w});
    for (int64_t i = 0; i < L; ++i)
      window.slice(1, i, i + 1).copy_(x.slice(1, frame(j, i), frame(j, i) + 1));
    inputs.push_back(mask_channel ? with_mask_channel(window, Tensor::zeros({1, L, h, w}))
                                  : window);
  }
  const std::vector<Tensor> v = velocities(inputs, t);
  Tensor out = Tensor::zeros(x.shape());
  std::vector<int64_t> takers(M, 0);
  float* po = out.data<float>();
  for (int64_t j = 0; j < windows; ++j) {
    const float* pv = v[j].data<float>();  // [C, L, h, w], contiguous
    for (int64_t i = 1; i < L; ++i) {
      const int64_t f = frame(j, i);
      ++takers[f];
      for (int64_t c = 0; c < C; ++c)
        for (int64_t k = 0; k < hw; ++k) po[(c * M + f) * hw + k] += pv[(c * L + i) * hw + k];
    }
  }
  for (int64_t c = 0; c < C; ++c)
    for (int64_t f = 0; f < M; ++f)
      for (int64_t k = 0; k < hw; ++k) po[(c * M + f) * hw + k] /= static_cast<float>(takers[f]);
  return out;
}

}  // namespace

FlowLoss flow_matching_loss(const DiT& model, const std::vector<Tensor>& latents,
                            const Prompts& prompts, const Generator& draws,
                            const std::vector<int64_t>& places) {
  const DiTConfig& cfg = model.config();
  CUBIST_CHECK(!latents.empty() && latents.size() == prompts.size(), "flow loss: ", latents.size(),
               " clips and ", prompts.size(),
               " prompts (one per clip, at least "
               "one clip)");
  CUBIST_CHECK(places.empty() || places.size() == latents.size(), "flow loss: ", places.size(),
               " places in the batch for ", latents.size(), " clips (one a clip, or none)");
  FlowLoss out;
  Prompts used = prompts;
  std::vector<Var> inputs, targets, weights;
  for (size_t i = 0; i < latents.size(); ++i) {
    Generator gen = draws.substream(places.empty() ? i : static_cast<uint64_t>(places[i]));
    const Tensor x0 = normalize_latents(cfg, latents[i]);
    const PatchGrid grid = patch_grid(x0.shape(), cfg.patch);
    const float s = flow::resolution_shift(grid.tokens(), cfg.shift_base_tokens, cfg.shift_base);
    const float t = flow::shift_time(flow::logit_normal(gen, cfg.logit_mean, cfg.logit_std), s);
    const bool drop = gen.uniform() < cfg.caption_dropout;
    if (drop) used[i] = {text::kEmpty};
    Tensor noise = Tensor::empty(x0.shape());
    gen.normal_(noise);
    Tensor input = flow::noisy(x0, noise, t);
    targets.emplace_back(flow::velocity_target(x0, noise));
    if (cfg.frame_conditioning) {
      const Tensor mask =
          gen.uniform() < cfg.condition_rate
              ? random_known_mask(x0.size(1), x0.size(2), x0.size(3), gen, cfg.condition_masks)
              : Tensor::zeros({1, x0.size(1), x0.size(2), x0.size(3)});
      input = with_mask_channel(hold_frames(input, x0, mask), mask);
      weights.emplace_back(generated_weight(mask, x0.size(0)));
      out.known.push_back(static_cast<int64_t>(ops::sum(mask.contiguous())) /
                          (x0.size(2) * x0.size(3)));
    }
    inputs.emplace_back(input);
    out.times.push_back(t);
    out.dropped.push_back(drop);
  }
  PackLayout layout;
  const Var x = pack_clips(inputs, cfg.patch, &layout);
  const Var target = pack_clips(targets, cfg.patch, nullptr);
  const Var pred = model.forward_tokens(x, layout, out.times, used);
  if (!cfg.frame_conditioning) {
    out.loss = mse_loss(pred, target);
    out.elements = static_cast<double>(target.value().numel());
    return out;
  }
  // Known frames carry no noise to predict: their errors are zeroed, and the mean is over the
  // generated elements alone.
  const Var w = pack_clips(weights, cfg.patch, nullptr);
  const double generated = ops::sum(w.value().contiguous());
  CUBIST_CHECK(generated > 0, "flow loss: every latent frame of the batch is known");
  out.elements = generated;
  out.loss = scale(mse_loss(mul(pred, w), mul(target, w)),
                   static_cast<float>(static_cast<double>(w.value().numel()) / generated));
  return out;
}

Tensor generate_latents(const DiT& model, const Dims& shape, const std::vector<int32_t>& prompt,
                        const GenerateOptions& o) {
  const DiTConfig& cfg = model.config();
  CUBIST_CHECK(shape.size() == 4 && shape[0] == cfg.latent_channels, "generate: latents must be [",
               cfg.latent_channels, ", T, H, W], got ", shape);
  const int64_t L = o.cycle_window;
  CUBIST_CHECK(L == 0 || (L >= 2 && L <= shape[1]), "generate: a cycle of ", shape[1],
               " latent frames cannot be sampled through windows of ", L,
               " (2 to the cycle's length)");
  CUBIST_CHECK(L == 0 || (!o.known && !o.init && !o.guide),
               "generate: a cycle is generated whole, without known frames, input or guide");
  // The model sees windows of a cycle, so their size decides the grid and the time shift.
  const PatchGrid grid =
      patch_grid(L > 0 ? Dims{shape[0], L, shape[2], shape[3]} : shape, cfg.patch);
  const float shift =
      o.shift > 0.0f ? o.shift
                     : flow::resolution_shift(grid.tokens(), cfg.shift_base_tokens, cfg.shift_base);
  CUBIST_CHECK(!o.known == !o.known_mask, "generate: known latents need their mask and back");
  CUBIST_CHECK(!o.known || cfg.frame_conditioning,
               "generate: this model was trained without frame conditioning, so it cannot take "
               "image or video prompts (train one with \"frame_conditioning\": true)");
  if (o.known)
    CUBIST_CHECK(o.known->shape() == shape, "generate: known latents ", o.known->shape(),
                 " must have the shape of the generated latents ", shape);
  CUBIST_CHECK(o.strength > 0.0f && o.strength <= 1.0f, "generate: strength ", o.strength,
               " is outside (0, 1]");
  CUBIST_CHECK(!o.init || o.init->shape() == shape, "generate: the input to edit ",
               o.init ? o.init->shape() : shape, " must have the shape of the latents ", shape);
  CUBIST_CHECK(!o.source_prompt || o.init,
               "generate: a source prompt describes an input to edit; give the input (init)");
  CUBIST_CHECK(!o.source_prompt || !o.guide,
               "generate: guidance by a loss is for generation, not for FlowEdit");
  const Tensor no_mask = Tensor::zeros({1, shape[1], shape[2], shape[3]});
  // The caller's latents are the autoencoder's; the model's are normalized (models/dit/config.h).
  const Tensor known = o.known ? normalize_latents(cfg, *o.known) : Tensor();
  const Tensor init = o.init ? normalize_latents(cfg, *o.init) : Tensor();
  // The model's input at x: known frames clean, and the mask channel.
  auto model_input = [&](const Tensor& x) {
    if (!cfg.frame_conditioning) return x;
    return o.known ? with_mask_channel(hold_frames(x, known, *o.known_mask), *o.known_mask)
                   : with_mask_channel(x, no_mask);
  };
  NoGrad no_grad;
  Generator gen(o.seed);
  Tensor x0;
  if (o.source_prompt) {
    // FlowEdit: the target prompt's velocity at the edit against the source prompt's at the
    // source, both guided, as four clips of one packed sequence.
    const float source_guidance = o.source_guidance > 0.0f ? o.source_guidance : o.guidance;
    const GuidedVelocities velocities(model, grid, {prompt, *o.source_prompt},
                                      {o.guidance, source_guidance}, o.guidance_rule,
                                      o.negative_prompt);
    auto difference = [&](const Tensor& target, const Tensor& source, float t) {
      const std::vector<Tensor> v = velocities({model_input(target), model_input(source)}, t);
      return ops::sub(v[0], v[1]);
    };
    x0 = flow::edit(difference, init, flow::schedule(o.steps, shift, o.strength), gen, o.on_step);
  } else {
    const size_t clips = L > 0 ? static_cast<size_t>(cycle_windows(shape[1], L)) : 1;
    const GuidedVelocities velocities(model, grid, Prompts(clips, prompt),
                                      std::vector<float>(clips, o.guidance), o.guidance_rule,
                                      o.negative_prompt);
    // The guide moves the first velocity of each step, at the sample itself: with Heun, the
    // corrector's evaluation (every second call of flow::sample) starts from the guided
    // prediction and is left as the transformer gives it, which halves the guide's cost (a
    // decode and its gradient) and measured no worse (docs/QUALITY.md, "Seam guidance").
    int64_t evaluations = 0;
    auto velocity = [&](const Tensor& x, float t) {
      const int64_t call = evaluations++;
      const bool heun = o.sampler == flow::Sampler::kHeun;  // two calls a step
      const int64_t step = heun ? call / 2 : call;
      const bool first_of_step = !heun || call % 2 == 0;
      Tensor out = L > 0 ? cycle_velocity(velocities, x, t, L, step, cfg.frame_conditioning)
                         : velocities({model_input(x)}, t)[0];
      if (o.guide && o.guide_scale != 0.0f && first_of_step)
        move_along_guide(cfg, x, t, o, known, out);
      return out;
    };
    Tensor noise = Tensor::empty(shape);
    gen.normal_(noise);
    const float start = o.init ? o.strength : 1.0f;
    const Tensor x1 = o.init ? flow::noisy(init, noise, start) : noise;
    x0 = flow::sample(velocity, x1, flow::schedule(o.steps, shift, start), o.sampler, o.on_step);
  }
  const Tensor z = denormalize_latents(cfg, x0);
  return o.known ? hold_frames(z, *o.known, *o.known_mask) : z;  // exactly the given frames
}

}  // namespace cubist
