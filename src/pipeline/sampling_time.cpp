#include "pipeline/sampling_time.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "autograd/var.h"
#include "core/rng.h"
#include "models/dit/patchify.h"
#include "models/text/tokenizer.h"

namespace cubist {

double evaluation_flops(const DiT& model, int64_t tokens, int64_t clips) {
  const DiTConfig& c = model.config();
  const double n = static_cast<double>(tokens);
  const double linear = 2.0 * static_cast<double>(model.num_parameters()) * n;
  const double attention = 4.0 * n * n * static_cast<double>(c.hidden * c.depth);
  return static_cast<double>(clips) * (linear + attention);
}

double measured_flops_per_second(const DiT& model) {
  const DiTConfig& c = model.config();
  const PatchGrid grid{1, 16, 16};
  const PackLayout layout = pack_layout({grid});
  Tensor x = Tensor::zeros({grid.tokens(), c.input_patch_dim()});
  Generator(0).normal_(x);
  const Var tokens(x);
  const Prompts prompts = {{text::kEmpty}};
  NoGrad no_grad;
  double fastest = 1e30;
  for (int run = 0; run < 2; ++run) {  // the first also warms the allocator and caches
    const auto t0 = std::chrono::steady_clock::now();
    model.forward_tokens(tokens, layout, {0.5f}, prompts);
    const auto t1 = std::chrono::steady_clock::now();
    fastest = std::min(fastest, std::chrono::duration<double>(t1 - t0).count());
  }
  return evaluation_flops(model, grid.tokens(), 1) / std::max(fastest, 1e-6);
}

std::string about_duration(double seconds) {
  const auto whole = [](double x) { return std::to_string(std::llround(x)); };
  if (seconds < 90) return "about " + whole(std::max(1.0, seconds)) + " s";
  if (seconds < 90 * 60) return "about " + whole(seconds / 60) + " min";
  if (seconds < 48 * 3600) {
    const int64_t minutes = std::llround(seconds / 60);
    return "about " + std::to_string(minutes / 60) + " h " + std::to_string(minutes % 60) + " min";
  }
  return "about " + whole(seconds / 86400) + " days";
}

}  // namespace cubist
