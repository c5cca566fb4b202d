// bench_dit: times the diffusion transformer of a config the way training and generation run it:
// one training step (rectified-flow loss forward over a packed batch of clips, backward, gradient
// clipping, AdamW, EMA: DiTTrainer::step), one guided sampling evaluation (the conditional and
// the unconditional clip packed together, the text already encoded, as every sampling step
// calls it), and a whole Heun generation (generate_latents: text encoding, 2 evaluations a step,
// guidance). Prints one JSON line. bench/dit_torch.py times the same model in PyTorch and
// bench/dit_compare.sh puts the two side by side (docs/PERFORMANCE.md).
//
//   ./build/bench_dit [CONFIG=configs/dit/small.json] [C,T,H,W=8,1,32,32] [iters=3]
//                     [--batch B=1] [--steps N=0] [--gen-iters K=3] [--guidance G=5]
//
// B clips of the given size train per step, captioned by Shapes World captions of 16 to 23
// words (cycled; the lengths are printed as text_lens). --steps N > 0 also times a whole N-step
// Heun generation of one clip (K runs). A training config ({"model", "train", ...}) gives its
// optimizer settings (lr, grad_clip, ema, ...); a bare model config trains with the defaults.
// Times are the best and the median of `iters` runs after one warm-up run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/allocator.h"
#include "core/parallel.h"
#include "diffusion/dit_flow.h"
#include "train/dit_run.h"
#include "train/dit_trainer.h"

namespace {

using namespace cubist;

struct Timing {
  double best_ms = 0, median_ms = 0;
};

template <typename F>
Timing time_ms(int iters, F&& f) {
  f();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return {t.front(), t[t.size() / 2]};
}

// Shapes World captions from the training data (which averages 16 words, 9 to 23): 22, 17, 23,
// 16, 21, 17, 22 and 23 words, 20 on average.
const std::vector<std::string> kCaptions = {
    "a large white square moving right, a large orange triangle moving left and a large magenta "
    "square bouncing on a navy background",
    "a large red square moving right and a small blue circle moving down on a brown background",
    "a large blue circle moving down, a small green square moving left and a small cyan triangle "
    "moving up on a navy background",
    "a small red circle bouncing and a large white square moving right on a gray background",
    "a large yellow circle bouncing, a small white square moving right and a small blue triangle "
    "spinning on a black background",
    "a small orange circle moving right and a large white triangle moving down on a black "
    "background",
    "a small cyan circle standing still, a small green triangle moving left and a large blue "
    "circle bouncing on a gray background",
    "a large blue triangle moving right, a large red square standing still and a small cyan "
    "circle moving right on a black background",
};

struct Args {
  std::string config = "configs/dit/small.json";
  Dims shape = {8, 1, 32, 32};
  int iters = 3, batch = 1, steps = 0, gen_iters = 3;
  float guidance = 5.0f;
};

Args parse_args(int argc, char** argv) {
  Args a;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto value = [&]() -> std::string {
      CUBIST_CHECK(i + 1 < argc, s, " needs a value");
      return argv[++i];
    };
    if (s == "--batch") {
      a.batch = std::atoi(value().c_str());
    } else if (s == "--steps") {
      a.steps = std::atoi(value().c_str());
    } else if (s == "--gen-iters") {
      a.gen_iters = std::atoi(value().c_str());
    } else if (s == "--guidance") {
      a.guidance = std::strtof(value().c_str(), nullptr);
    } else if (positional == 0) {
      a.config = s, ++positional;
    } else if (positional == 1) {
      int64_t c, t, h, w;
      CUBIST_CHECK(std::sscanf(s.c_str(), "%ld,%ld,%ld,%ld", &c, &t, &h, &w) == 4,
                   "the size is C,T,H,W, got ", s);
      a.shape = {c, t, h, w}, ++positional;
    } else if (positional == 2) {
      a.iters = std::atoi(s.c_str()), ++positional;
    } else {
      CUBIST_CHECK(false, "unexpected argument ", s);
    }
  }
  CUBIST_CHECK(a.iters >= 1 && a.batch >= 1 && a.steps >= 0 && a.gen_iters >= 1,
               "iters, --batch and --gen-iters must be >= 1, --steps >= 0");
  return a;
}

// The optimizer settings of a training config's "train" section; defaults for a model config.
DiTTrainConfig train_settings(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  DiTRunConfig run;
  if (nlohmann::json::parse(text.str()).contains("train")) run = load_dit_run_config(path).train;
  return trainer_config(run);
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse_args(argc, argv);
    const DiTConfig config = load_dit_config(a.config);
    const DiTTrainConfig settings = train_settings(a.config);
    DiTTrainer trainer(config, text::Tokenizer::shapes_world(), settings);
    Generator gen(1);
    std::vector<Tensor> clips;
    std::vector<std::string> captions;
    std::vector<int64_t> text_lens;
    for (int i = 0; i < a.batch; ++i) {
      clips.push_back(Tensor::empty(a.shape));
      gen.normal_(clips.back());
      captions.push_back(kCaptions[static_cast<size_t>(i) % kCaptions.size()]);
      text_lens.push_back(static_cast<int64_t>(trainer.tokenizer().encode(captions.back()).size()));
    }
    const int64_t tokens = patch_grid(a.shape, config.patch).tokens();

    Allocator::cpu().reset_peak();
    const Timing train = time_ms(a.iters, [&] { trainer.step(clips, captions); });
    const size_t peak = Allocator::cpu().stats().peak_bytes_in_use;

    // One guided evaluation, exactly as generate_latents' velocity calls the model (the input
    // with its zero mask channel when frame-conditioned, the pair packed, the text encoded).
    const DiT& model = trainer.model();
    const std::vector<int32_t> prompt = trainer.tokenizer().encode(kCaptions[0]);
    const PatchGrid grid = patch_grid(a.shape, config.patch);
    const PackLayout layout = pack_layout({grid, grid});
    Dims in_shape = a.shape;
    in_shape[0] = config.input_channels();
    Tensor input = Tensor::zeros(in_shape);
    gen.normal_(input);
    const Timing eval = time_ms(a.iters, [&] {
      NoGrad no_grad;
      const EncodedText text = model.encode_text({prompt, {text::kEmpty}});
      const Var x(input);
      model.forward_tokens(pack_clips({x, x}, config.patch, nullptr), layout, {0.5f, 0.5f}, text);
    });
    // The same without the text encoder, which generation runs once, not per evaluation.
    NoGrad no_grad;
    const EncodedText text = model.encode_text({prompt, {text::kEmpty}});
    const Timing eval_only = time_ms(a.iters, [&] {
      const Var x(input);
      model.forward_tokens(pack_clips({x, x}, config.patch, nullptr), layout, {0.5f, 0.5f}, text);
    });
    Timing gen_t;
    if (a.steps > 0)
      gen_t = time_ms(a.gen_iters, [&] {
        generate_latents(
            model, a.shape, prompt,
            {.steps = a.steps, .sampler = flow::Sampler::kHeun, .guidance = a.guidance, .seed = 1});
      });

    std::printf(
        "{\"bench\": \"dit\", \"impl\": \"cubist\", \"config\": \"%s\", \"params\": %lld, "
        "\"vocab\": %lld, \"latents\": \"%s\", \"tokens\": %lld, \"batch\": %d, "
        "\"text_lens\": [%s], \"prompt_len\": %zu, \"train_tokens\": %lld, "
        "\"train_step_ms\": %.2f, \"train_step_median_ms\": %.2f, \"train_tokens_per_s\": %.1f, "
        "\"guided_eval_ms\": %.3f, \"guided_eval_median_ms\": %.3f, "
        "\"guided_eval_with_text_ms\": %.3f, \"heun_steps\": %d, \"generate_ms\": %.1f, "
        "\"generate_median_ms\": %.1f, \"peak_tensor_mb\": %.1f, \"threads\": %d}\n",
        a.config.c_str(), static_cast<long long>(model.num_parameters()),
        static_cast<long long>(trainer.tokenizer().vocab_size()), a.shape.str().c_str(),
        static_cast<long long>(tokens), a.batch, join(text_lens).c_str(), prompt.size(),
        static_cast<long long>(tokens * a.batch), train.best_ms, train.median_ms,
        1e3 * static_cast<double>(tokens * a.batch) / train.best_ms, eval_only.best_ms,
        eval_only.median_ms, eval.best_ms, a.steps, gen_t.best_ms, gen_t.median_ms,
        double(peak) / (1 << 20), num_threads());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_dit: %s\n", e.what());
    return 1;
  }
}
