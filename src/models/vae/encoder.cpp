#include "models/vae/encoder.h"

#include "autograd/activation.h"

namespace cubist {

EncoderLevel::EncoderLevel(const VaeConfig& c, int64_t level, int64_t in_channels, Generator& gen) {
  const int64_t out = c.level_channels(level);
  for (int64_t j = 0; j < c.blocks_per_level; ++j) {
    blocks_.push_back(std::make_unique<ResBlock>(j == 0 ? in_channels : out, out, c.groups, gen));
    child("blocks." + std::to_string(j), *blocks_.back());
  }
  if (level + 1 < c.levels() && (c.halves_time(level) || c.halves_space(level))) {
    downsample_ =
        std::make_unique<Downsample>(out, c.halves_time(level), c.halves_space(level), gen);
    child("downsample", *downsample_);
  }
}

Var EncoderLevel::forward(const Var& x, CausalStream* stream) const {
  Var h = x;
  for (const auto& b : blocks_) h = b->forward(h, stream);
  return downsample_ ? downsample_->forward(h, stream) : h;
}

Encoder::Encoder(const VaeConfig& c, Generator& gen)
    : conv_in_(c.in_channels, c.level_channels(0), {3, 3, 3}, {1, 1, 1}, gen),
      norm_out_(c.level_channels(c.levels() - 1), c.groups),
      conv_out_(c.level_channels(c.levels() - 1), 2 * c.latent_channels, {3, 3, 3}, {1, 1, 1},
                gen) {
  c.validate();
  child("conv_in", conv_in_);
  int64_t ch = c.level_channels(0);
  for (int64_t l = 0; l < c.levels(); ++l) {
    levels_.push_back(std::make_unique<EncoderLevel>(c, l, ch, gen));
    child("down." + std::to_string(l), *levels_.back());
    ch = c.level_channels(l);
  }
  for (int64_t j = 0; j < c.mid_blocks; ++j) {
    mid_.push_back(std::make_unique<ResBlock>(ch, ch, c.groups, gen));
    child("mid." + std::to_string(j), *mid_.back());
  }
  child("norm_out", norm_out_);
  child("conv_out", conv_out_);
  // The log-variance starts at kInitialLogvar rather than 0: with unit posterior noise the
  // decoder first sees latents drowned in noise and learns nothing until the encoder has pushed
  // the variance down, which at Adam's step sizes takes hundreds of steps.
  float* bias = conv_out_.bias().value().data<float>();
  for (int64_t i = c.latent_channels; i < 2 * c.latent_channels; ++i) bias[i] = kInitialLogvar;
}

Var Encoder::forward(const Var& x, CausalStream* stream) const {
  Var h = conv_in_.forward(x, stream);
  for (const auto& level : levels_) h = level->forward(h, stream);
  for (const auto& b : mid_) h = b->forward(h, stream);
  return conv_out_.forward(silu(norm_out_.forward(h)), stream);
}

}  // namespace cubist
