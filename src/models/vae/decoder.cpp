#include "models/vae/decoder.h"

#include "autograd/activation.h"

namespace cubist {

DecoderLevel::DecoderLevel(const VaeConfig& c, int64_t level, int64_t in_channels, Generator& gen) {
  const int64_t out = c.level_channels(level);
  for (int64_t j = 0; j < c.blocks_per_level; ++j) {
    blocks_.push_back(std::make_unique<ResBlock>(j == 0 ? in_channels : out, out, c.groups, gen));
    child("blocks." + std::to_string(j), *blocks_.back());
  }
  const int64_t transition = level - 1;  // the encoder transition this level undoes
  if (level > 0 && (c.halves_time(transition) || c.halves_space(transition))) {
    upsample_ =
        std::make_unique<Upsample>(out, c.level_channels(level - 1), c.halves_time(transition),
                                   c.halves_space(transition), gen);
    child("upsample", *upsample_);
  }
}

Var DecoderLevel::forward(const Var& x, CausalStream* stream) const {
  Var h = x;
  for (const auto& b : blocks_) h = b->forward(h, stream);
  return upsample_ ? upsample_->forward(h, stream) : h;
}

Decoder::Decoder(const VaeConfig& c, Generator& gen)
    : conv_in_(c.latent_channels, c.level_channels(c.levels() - 1), {3, 3, 3}, {1, 1, 1}, gen),
      norm_out_(c.level_channels(0), c.groups),
      conv_out_(c.level_channels(0), c.in_channels, {3, 3, 3}, {1, 1, 1}, gen) {
  c.validate();
  child("conv_in", conv_in_);
  int64_t ch = c.level_channels(c.levels() - 1);
  for (int64_t j = 0; j < c.mid_blocks; ++j) {
    mid_.push_back(std::make_unique<ResBlock>(ch, ch, c.groups, gen));
    child("mid." + std::to_string(j), *mid_.back());
  }
  levels_.resize(static_cast<size_t>(c.levels()));
  for (int64_t l = c.levels() - 1; l >= 0; --l) {
    levels_[static_cast<size_t>(l)] = std::make_unique<DecoderLevel>(c, l, ch, gen);
    child("up." + std::to_string(l), *levels_[static_cast<size_t>(l)]);
    // The upsampling conv already narrows to the next level's channels.
    ch = c.level_channels(l > 0 && levels_[static_cast<size_t>(l)]->upsamples() ? l - 1 : l);
  }
  child("norm_out", norm_out_);
  child("conv_out", conv_out_);
}

Var Decoder::forward(const Var& z, CausalStream* stream) const {
  Var h = conv_in_.forward(z, stream);
  for (const auto& b : mid_) h = b->forward(h, stream);
  for (auto l = levels_.rbegin(); l != levels_.rend(); ++l) h = (*l)->forward(h, stream);
  return conv_out_.forward(silu(norm_out_.forward(h)), stream);
}

}  // namespace cubist
