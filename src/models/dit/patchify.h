// Spacetime patches: latents [C, T, H, W] cut into T/pt x H/ph x W/pw patches, each one token of
// C*pt*ph*pw features, and several clips of different sizes packed into one token sequence (as
// NaViT's "patch n' pack"): self-attention keeps each clip to itself through `seqlens`.
//
// Token order is (t, h, w) row-major over the patch grid; a token's features are ordered
// (c, dt, dh, dw). Positions are the token's patch coordinates (t, h, w) for 3-axis RoPE, so any
// grid works without retraining.
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/var.h"
#include "models/dit/config.h"

namespace cubist {

struct PatchGrid {
  int64_t t = 1, h = 1, w = 1;  // patches per axis
  int64_t tokens() const { return t * h * w; }
  bool operator==(const PatchGrid&) const = default;
};

// A sequence this long is slow on a CPU, so the command line says so up front: every block
// attends over all of a sequence's tokens, at a cost that grows with their square. 1024x1024 x
// 17 frames, 20480 tokens with the bundled model, took 30 s a sampling step on 2 cores.
inline constexpr int64_t kSlowSequenceTokens = 16384;

// Throws Error unless `shape` is [C, T, H, W] with T, H, W multiples of the patch (the message
// says which axis is off and the nearest accepted sizes).
PatchGrid patch_grid(const Dims& shape, PatchSize p);
// [C, T, H, W] -> [N, C*pt*ph*pw]; differentiable.
Var patchify(const Var& latents, PatchSize p);
// The inverse: [N, C*pt*ph*pw] -> [C, T, H, W]; differentiable.
Var unpatchify(const Var& tokens, PatchSize p, int64_t channels, PatchGrid grid);
// [N, 3]: (t, h, w) of every token of the grid, as floats.
Tensor patch_positions(PatchGrid grid);

// Several clips' tokens back to back: clip i owns seqlens[i] tokens; clip_of_token maps each
// token to its clip (to broadcast per-clip conditioning).
struct PackLayout {
  std::vector<PatchGrid> grids;
  std::vector<int64_t> seqlens;
  std::vector<int32_t> clip_of_token;
  Tensor positions;  // [S, 3]
  int64_t tokens() const { return static_cast<int64_t>(clip_of_token.size()); }
};
PackLayout pack_layout(const std::vector<PatchGrid>& grids);
// Latents of several clips (each [C, T, H, W], sizes may differ) -> tokens [S, C*pt*ph*pw].
Var pack_clips(const std::vector<Var>& latents, PatchSize p, PackLayout* layout);
// Packed tokens -> one [C, T, H, W] per clip.
std::vector<Var> unpack_clips(const Var& tokens, const PackLayout& layout, PatchSize p,
                              int64_t channels);

}  // namespace cubist
