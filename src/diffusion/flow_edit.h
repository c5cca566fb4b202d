// FlowEdit (Kulikov et al. 2024): editing with a rectified flow by the difference of two
// velocity fields, without inverting the input to noise. Where SDEdit noises the input and
// denoises it under the new prompt (so everything the noise drowned is redrawn), FlowEdit walks
// a path from the source x_src that moves only by how the target prompt's velocity differs from
// the source prompt's; where the two prompts agree about a region, it does not move.
//
//   z = x_src at t = start; for each step t -> t' of the schedule, with fresh noise eps:
//     z_src = (1 - t) x_src + t eps               (the source, noised as training noises it)
//     z_tar = z + z_src - x_src                   (the edit, carrying the same noise)
//     z    += (t' - t) (v_tar(z_tar, t) - v_src(z_src, t))
//
// For two point-mass distributions a (source) and b (target) it maps a to b exactly, and with
// equal velocity fields it returns x_src unchanged (tests/test_flow.cpp, "FlowEdit").
#pragma once

#include <functional>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "diffusion/flow.h"

namespace cubist::flow {

// v_tar(target, t) - v_src(source, t): the target prompt's velocity at the edit's noisy
// latents minus the source prompt's at the source's.
using EditVelocityFn = std::function<Tensor(const Tensor& target, const Tensor& source, float t)>;

// Walks from `source` over `times` (schedule(steps, shift, start): start is how far into the
// noise the edit reaches, as SDEdit's strength) by Euler steps, one draw of noise from `gen` per
// step. Deterministic for a given generator state.
Tensor edit(const EditVelocityFn& velocity_difference, const Tensor& source,
            const std::vector<float>& times, Generator& gen, const StepFn& on_step = {});

}  // namespace cubist::flow
