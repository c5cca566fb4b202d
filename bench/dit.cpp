// bench_dit: times one DiT training step (rectified-flow loss forward, backward, AdamW) and one
// guided sampling evaluation (conditional and unconditional clips packed together) for a config
// file and a latent size, and prints one JSON line with the parameter count.
//
//   ./build/bench_dit [CONFIG=configs/dit/small.json] [C,T,H,W=8,1,32,32] [iters=3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/parallel.h"
#include "diffusion/dit_flow.h"
#include "train/dit_trainer.h"

namespace {

using namespace cubist;

template <typename F>
double median_ms(int iters, F&& f) {
  f();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string path = argc > 1 ? argv[1] : "configs/dit/small.json";
    Dims shape = {8, 1, 32, 32};
    if (argc > 2) {
      int64_t c, t, h, w;
      if (std::sscanf(argv[2], "%ld,%ld,%ld,%ld", &c, &t, &h, &w) != 4) {
        std::fprintf(stderr, "bench_dit: the size is C,T,H,W, got %s\n", argv[2]);
        return 2;
      }
      shape = {c, t, h, w};
    }
    const int iters = argc > 3 ? std::max(1, std::atoi(argv[3])) : 3;
    const DiTConfig config = load_dit_config(path);
    DiTTrainer trainer(config, text::Tokenizer::shapes_world(), {});
    Generator gen(1);
    Tensor x = Tensor::empty(shape);
    gen.normal_(x);
    const std::string caption = "a large red circle bouncing on a navy background";
    const int64_t tokens = patch_grid(shape, config.patch).tokens();

    Allocator::cpu().reset_peak();
    const double train_ms = median_ms(iters, [&] { trainer.step({x}, {caption}); });
    const size_t peak = Allocator::cpu().stats().peak_bytes_in_use;
    const std::vector<int32_t> prompt = trainer.tokenizer().encode(caption);
    const double sample_ms = median_ms(iters, [&] {
      generate_latents(trainer.model(), shape, prompt,
                       {.steps = 1, .sampler = flow::Sampler::kEuler, .guidance = 4.0f});
    });
    std::printf(
        "{\"bench\": \"dit\", \"config\": \"%s\", \"params\": %lld, \"latents\": \"%s\", "
        "\"tokens\": %lld, \"train_step_ms\": %.1f, \"guided_eval_ms\": %.1f, "
        "\"peak_tensor_mb\": %.1f, \"threads\": %d}\n",
        path.c_str(), static_cast<long long>(trainer.model().num_parameters()), shape.str().c_str(),
        static_cast<long long>(tokens), train_ms, sample_ms, double(peak) / (1 << 20),
        num_threads());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_dit: %s\n", e.what());
    return 1;
  }
}
