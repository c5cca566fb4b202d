// Where the seams of issue 6's modes come from (docs/QUALITY.md, "Where the seams come from"):
// on true 17-frame Shapes World clips f0..f16 and their captions, with the model's transformer
// and autoencoder.
//   ninja -C build bench_seam_probe
//   python3 bench/prompt_modes_eval.py --clips 5    # writes out/modes_eval/truth
//   ./build/bench_seam_probe [CLIPS=out/modes_eval/truth] [MODEL_DIR] [N=5] [STEPS=30]
// Per clip (RMS pixel changes, 0-255):
//   backward  a window whose last 2 latent frames hold f0..f7 (encode_tail, as --extend
//             --direction backward): the window's decoded frames w, where w[9+j] stands for fj.
//             "decoded" is the step w8 -> w9 inside the window, "held" how far w9 is from f0,
//             "output" the step w8 -> f0 that the output shows, "inside" the clip's mean step;
//             sampled without seam guidance, to show the seam that it closes (docs/DIT.md).
//   tail      the same with the clip's last 2 latent frames held, as the whole clip's encoding
//             has them and as encode_tail makes them from f9..f16: the step w8 -> f9 (the clip's
//             own f8 -> f9 beside it). Equal seams say the held latents are not the problem.
//   loop      a clip generated from the caption and a passage window [its last frame | 3
//             generated | its latent frame a1] (overlap 1): the seam and mean step of the loop
//             cut from the passage's decoded frames to the clip's own (as --loop was made), and
//             of the cycle a1..a4 + passage decoded after one turn of itself (as it is made).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "diffusion/condition.h"
#include "diffusion/dit_flow.h"
#include "pipeline/text_to_video.h"
#include "pipeline/video_prompts.h"

using namespace cubist;

namespace {

double step(const Video& a, int64_t i, const Video& b, int64_t j) {
  const uint8_t *p = a.frame(i), *q = b.frame(j);
  const int64_t n = a.width * a.height * 3;
  double s = 0;
  for (int64_t k = 0; k < n; ++k) s += (double(p[k]) - q[k]) * (double(p[k]) - q[k]);
  return std::sqrt(s / n);
}

double mean_step(const Video& v) {
  double s = 0;
  for (int64_t t = 0; t + 1 < v.frames; ++t) s += step(v, t, v, t + 1);
  return s / static_cast<double>(v.frames - 1);
}

struct Probe {
  const TextToVideoModel& m;
  std::vector<int32_t> prompt;
  int steps;
  float guidance;
  uint64_t seed;

  // Latents of `shape` with `held` (same shape) known at latent frames `frames`.
  Tensor sample(const Dims& shape, const Tensor* held, const std::vector<int64_t>& frames,
                uint64_t s) const {
    GenerateOptions g;
    g.steps = steps;
    g.guidance = guidance;
    g.seed = s;
    const Tensor mask = frame_mask(shape[1], shape[2], shape[3], frames);
    if (held) {
      g.known = held;
      g.known_mask = &mask;
    }
    return generate_latents(*m.dit, shape, prompt, g);
  }
  Video decode(const Tensor& z) const { return decode_latents(*m.vae, z); }
};

void backward(const Probe& p, const Video& f, const Tensor& z) {
  Tensor held = Tensor::zeros(z.shape());
  held.slice(1, 3, 5).copy_(encode_tail(*p.m.vae, f, 2));
  const Video w = p.decode(p.sample(z.shape(), &held, {3, 4}, p.seed));
  std::printf("  backward  decoded %5.1f  held %5.1f  output %5.1f  inside %5.1f\n",
              step(w, 8, w, 9), step(w, 9, f, 0), step(w, 8, f, 0), mean_step(f));
}

void tail(const Probe& p, const Video& f, const Tensor& z) {
  std::printf("  tail      f8 -> f9 %5.1f", step(f, 8, f, 9));
  for (const bool whole : {true, false}) {
    Tensor held = Tensor::zeros(z.shape());
    held.slice(1, 3, 5).copy_(whole ? z.slice(1, 3, 5)
                                    : encode_tail(*p.m.vae, video_frames(f, 9, 17), 2));
    const Video w = p.decode(p.sample(z.shape(), &held, {3, 4}, p.seed));
    std::printf("  %s %5.1f", whole ? "whole-clip" : "encode_tail", step(w, 8, f, 9));
  }
  std::printf("\n");
}

void loop(const Probe& p, const Dims& shape) {
  const Tensor a = p.sample(shape, nullptr, {}, p.seed);
  const Video c = p.decode(a);
  Tensor held = Tensor::zeros(shape);
  held.slice(1, 0, 1).copy_(encode_video(*p.m.vae, video_frames(c, 16, 17)));
  // The cut: the clip's f1..f4 re-encoded (encode_tail) and the clip's own pixels after.
  held.slice(1, 4, 5).copy_(encode_tail(*p.m.vae, c, 1));
  const Video w = p.decode(p.sample(shape, &held, {0, 4}, window_seed(p.seed, 1)));
  const Video passage = video_frames(w, 1, 13), clip = c;
  const Video cut = join_videos({&clip, &passage});
  // The cycle: the clip's own a1 held, and a0 a1..a4 g g g a1..a4 g g g decoded.
  held.slice(1, 4, 5).copy_(a.slice(1, 1, 2));
  const Tensor g = p.sample(shape, &held, {0, 4}, window_seed(p.seed, 1)).slice(1, 1, 4);
  const Tensor cycle = join_latents({a.slice(1, 1, 5), g});
  const Video round = p.decode(join_latents({a.slice(1, 0, 1), cycle, cycle}));
  const Video v = video_frames(round, round.frames - 4 * cycle.size(1), round.frames);
  std::printf("  loop      cut seam %5.1f inside %5.1f   cycle seam %5.1f inside %5.1f\n",
              step(cut, cut.frames - 1, cut, 0), mean_step(cut), step(v, v.frames - 1, v, 0),
              mean_step(v));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string clips = argc > 1 ? argv[1] : "out/modes_eval/truth";
  const TextToVideoModel m = load_text_to_video(argc > 2 ? argv[2] : "");
  const int64_t n = argc > 3 ? std::stoll(argv[3]) : 5;
  const int steps = argc > 4 ? std::stoi(argv[4]) : 30;
  std::ifstream manifest(clips + "/manifest.jsonl");
  if (!manifest) {
    std::fprintf(stderr,
                 "bench_seam_probe: no %s/manifest.jsonl (make it with "
                 "bench/prompt_modes_eval.py, or give a folder of 17-frame clips)\n",
                 clips.c_str());
    return 2;
  }
  std::string line;
  for (int64_t i = 0; i < n && std::getline(manifest, line); ++i) {
    const auto e = nlohmann::json::parse(line);
    const Video f = read_video(clips + "/" + e["path"].get<std::string>());
    if (f.frames != 17) {
      std::fprintf(stderr, "bench_seam_probe: %s has %lld frames; the probe takes 17\n",
                   e["path"].get<std::string>().c_str(), static_cast<long long>(f.frames));
      return 2;
    }
    VideoRequest r;
    r.prompt = e["caption"];
    r.expand = false;
    r.width = f.width, r.height = f.height, r.frames = 17, r.steps = steps;
    r.seed = static_cast<uint64_t>(i);
    const Probe p{m, prepare_request(m, r).ids, steps, r.guidance, r.seed};
    std::printf("clip %lld: %s\n", static_cast<long long>(i), r.prompt.c_str());
    const Tensor z = encode_video(*m.vae, f);
    backward(p, f, z);
    tail(p, f, z);
    loop(p, z.shape());
  }
  return 0;
}
