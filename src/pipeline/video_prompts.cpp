#include "pipeline/video_prompts.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <tuple>

#include "core/error.h"
#include "core/strings.h"
#include "diffusion/condition.h"
#include "diffusion/video_sampling.h"
#include "io/output_folder.h"
#include "io/sha256.h"
#include "models/text/prompt_expansion.h"
#include "models/vae/tiling.h"
#include "ops/elementwise.h"
#include "pipeline/file_info.h"
#include "pipeline/sampling_time.h"
#include "pipeline/seam_guidance.h"

namespace cubist {

namespace fs = std::filesystem;

namespace {

constexpr double kFps = 8.0;

// generate_latents' refusal (diffusion/dit_flow.cpp), given here before any input is read.
constexpr const char* kNoFrameConditioning =
    "generate: this model was trained without frame conditioning, so it cannot take image or "
    "video prompts (train one with \"frame_conditioning\": true)";

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// "1 frame", "5 frames".
std::string count(int64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// Backward extensions and connections: their new frames lead into an input's first frames, held
// at the window's end, where seam guidance applies.
bool leads_into_held_frames(PromptMode mode, bool backward) {
  return (mode == PromptMode::kExtend && backward) || mode == PromptMode::kConnect;
}

std::string base_name(const std::string& path) {
  return fs::path(without_trailing_slashes(path)).filename().string();
}

// SHA-256 of an input: a file's bytes; a folder of frames: of its "name digest" lines, by name.
std::string input_digest(const std::string& path) {
  if (!fs::is_directory(path)) return sha256_file(path);
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(path))
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  std::string listing;
  for (const std::string& n : names) listing += n + " " + sha256_file(path + "/" + n) + "\n";
  return sha256_hex(listing);
}

// Reads an input at 8 fps and the request's size; what had to change is noted.
Video read_input(const std::string& path, const VideoRequest& r, std::vector<std::string>& notes) {
  const VideoInfo info = probe_video(path);  // its rate and transparency, before it is read once
  const std::string name = base_name(path);
  if (info.alpha)
    notes.push_back(name + ": its transparency is left out (the colours are read as they are)");
  const bool resampled = std::abs(info.fps - kFps) > 1e-3;
  Video v = read_video(path, {.fps = resampled ? kFps : 0.0});
  if (resampled) {
    std::ostringstream note;
    note << name << ": " << info.fps << " fps, read at " << kFps << " fps (" << v.frames
         << " frames)";
    notes.push_back(note.str());
  }
  if (v.width != r.width || v.height != r.height) {
    notes.push_back(name + ": " + std::to_string(v.width) + "x" + std::to_string(v.height) +
                    ", resized to " + std::to_string(r.width) + "x" + std::to_string(r.height));
    v = resize_video(v, r.height, r.width);
  }
  v.fps = kFps;
  return v;
}

// The latent frames of each window that adds `frames` frames to one end of a video, K latent
// frames held from it, at most `most` latent frames (a multiple of pt) a window. A forward window
// of L latent frames adds tf (L - K) frames; a backward one 1 + tf (L - K - 1), since its held
// latent frames stand for tf frames each. The last window is the shortest that covers the rest
// (whole patches); its surplus frames, at the far end, are dropped.
std::vector<int64_t> extension_plan(int64_t frames, int64_t K, int64_t most, int64_t tf, int64_t pt,
                                    bool backward) {
  std::vector<int64_t> plan;
  for (int64_t rest = frames; rest > 0;) {
    const int64_t generated = backward ? 1 + ceil_div(rest - 1, tf) : ceil_div(rest, tf);
    const int64_t latents = std::min(most, ceil_div(K + generated, pt) * pt);
    rest -= backward ? 1 + tf * (latents - K - 1) : tf * (latents - K);
    plan.push_back(latents);
  }
  return plan;
}

void add_input(VideoJob& job, const std::string& role, const std::string& path) {
  nlohmann::ordered_json j;
  j["role"] = role;
  j["file"] = base_name(path);
  j["sha256"] = input_digest(path);
  job.input_record.push_back(j);
  job.input_paths.push_back(path);
}

// An input video that must hold the overlap's frames (1 + tf (K - 1)).
Video read_overlap_input(VideoJob& job, const std::string& role, const std::string& path,
                         const VaeConfig& vae, const char* which_end) {
  Video v = read_input(path, job.request, job.notes);
  const int64_t need = vae.video_frames(job.overlap);
  CUBIST_CHECK(v.frames >= need, "generate: ", path, " has ", v.frames, " frames; an overlap of ",
               job.overlap, " latent frames holds its ", which_end, " ", need, " frames (1 + ",
               vae.temporal_factor(), " (K - 1)); give a video of at least ", need,
               " frames or a smaller --overlap (1 needs one frame)");
  add_input(job, role, path);
  return v;
}

// A request without a size (0 x 0) takes its first input's, rounded to the nearest size the model
// takes, so that a video extended or edited keeps its shape; without inputs, VideoRequest's.
void choose_size(VideoJob& job, const TextToVideoModel& m, const MediaPrompt& media) {
  VideoRequest& r = job.request;
  if (r.width > 0 && r.height > 0) return;
  CUBIST_CHECK(r.width == 0 && r.height == 0, "generate: size ", r.width, "x", r.height,
               "; give both sides, or neither (0x0) for the input's size");
  const std::string& input = !media.image.empty()          ? media.image
                             : !media.extend.empty()       ? media.extend
                             : !media.connect_from.empty() ? media.connect_from
                                                           : media.edit;
  if (input.empty()) {
    r.width = VideoRequest{}.width, r.height = VideoRequest{}.height;
    return;
  }
  const VideoInfo info = probe_video(input);  // a missing file: "IN: no such file"
  std::tie(r.width, r.height) =
      nearest_size(m.dit->config(), m.vae->config(), info.width, info.height);
  job.size_from_input = true;
  job.notes.push_back("size " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                      ", from " + base_name(input) + " (--size sets another)");
}

// generate says up front how long sampling and decoding will take when that is long (pipeline/
// sampling_time.h), and why when a window is the cause: the first rate the progress bar shows
// comes only after the first step.
void note_sampling_time(const TextToVideoModel& m, VideoJob& job) {
  const DiTConfig& d = m.dit->config();
  const int64_t sf = m.vae->config().spatial_factor;
  const int64_t per_frame =
      (job.request.height / sf / d.patch.h) * (job.request.width / sf / d.patch.w);
  const VideoRequest& r = job.request;
  const int64_t clips = r.guidance != 1.0f ? 2 : 1;  // guidance: with its unconditional twin
  const int64_t evaluations = static_cast<int64_t>(r.steps) *
                              (r.sampler == flow::Sampler::kHeun ? 2 : 1) *
                              (job.source ? 2 : 1);  // FlowEdit: the source's and the target's
  double flops = 0, pixels = 0;  // the transformer's operations; the decoded windows' pixels
  int64_t tokens = 0;
  for (int64_t latent_frames : job.windows) {
    const int64_t n = latent_frames / d.patch.t * per_frame;
    tokens = std::max(tokens, n);
    flops += static_cast<double>(evaluations) * evaluation_flops(*m.dit, n, clips);
    pixels += static_cast<double>(m.vae->config().video_frames(latent_frames) * r.height * r.width);
  }
  // Seam guidance decodes every window with its gradient once a step (pipeline/seam_guidance.h).
  const double guided = job.seam_guidance > 0.0f ? static_cast<double>(r.steps) * pixels : 0.0;
  const bool slow_window = tokens >= kSlowSequenceTokens;
  // Timing costs about one evaluation at 256 tokens and a small decoding: only where the answer
  // may be long.
  if (flops < 2e12 && guided + pixels < 2e7 && !slow_window) return;
  const DecoderSeconds decoder = measured_decoder_seconds(*m.vae);
  const double guide = guided * decoder.guide, decoding = pixels * decoder.decode;
  const double sampling = flops / measured_flops_per_second(*m.dit) + guide;
  if (sampling + decoding < 120 && !slow_window) return;
  std::string note = "sampling will take " + about_duration(sampling) + " on this machine (" +
                     std::to_string(job.windows.size()) +
                     (job.windows.size() == 1 ? " window" : " windows") + " of at most " +
                     std::to_string(tokens) + " tokens, " + std::to_string(r.steps) + " steps";
  if (guide >= 0.1 * sampling) note += "; seam guidance " + about_duration(guide) + " of it";
  note += "), decoding " + about_duration(decoding);
  if (slow_window)
    note +=
        "; each step attends over all of a window's tokens, at a cost that grows with their "
        "square (96x64 x 17 frames is 120 tokens)";
  job.notes.push_back(note + "; a smaller --size or fewer --frames or --steps is faster");
}

// The latent frames of the windows a loop of `cycle` latent frames is sampled through: the
// job's window, or the whole cycle when it is shorter (GenerateOptions::cycle_window).
int64_t loop_window(const VaeConfig& vae, int64_t window, int64_t cycle) {
  return std::min(vae.latent_frames(window), cycle);
}

// Checks the window (frames the model generates at once) and the overlap for the mode.
void check_window(VideoJob& job, const TextToVideoModel& m, const MediaPrompt& media) {
  const VaeConfig& vae = m.vae->config();
  const int64_t tf = vae.temporal_factor(), pt = m.dit->config().patch.t, W = job.window;
  const int64_t step = std::max<int64_t>(2, pt);  // the fewest latent frames a window may have
  CUBIST_CHECK(
      W >= vae.video_frames(step) && (W - 1) % tf == 0 && vae.latent_frames(W) % pt == 0,
      "generate: a window of ", W, " frames; a window is a frame count this model takes, 1 + ", tf,
      "k, of at least 2 latent frames (", vae.video_frames(step), " frames or more; nearest: ",
      nearest_frame_counts(vae, pt, std::max(W, vae.video_frames(step))), ")");
  if (job.mode == PromptMode::kLoop) return;  // a cycle, sampled whole: no overlap
  const int64_t Lw = vae.latent_frames(W);
  const bool ends = job.mode == PromptMode::kConnect;
  const int64_t most = ends ? (Lw - 1) / 2 : Lw - 1;
  CUBIST_CHECK(most >= 1, "generate: a window of ", W, " frames (", Lw,
               " latent frames) is too short to hold both ends and generate between them; give "
               "--window ",
               vae.video_frames(ceil_div(3, pt) * pt), " or more");
  job.overlap = media.overlap.value_or(std::min(kDefaultOverlap, most));
  CUBIST_CHECK(job.overlap >= 1 && job.overlap <= most, "generate: an overlap of ", job.overlap,
               " latent frames; with a window of ", W, " frames (", Lw, " latent frames) ",
               ends ? "--connect takes" : "the overlap takes", " 1 to ", most,
               ends ? " (both ends are held, and at least one latent frame is generated between "
                      "them)"
                    : " (at least one latent frame is generated)");
}

}  // namespace

const char* prompt_mode_name(PromptMode mode) {
  switch (mode) {
    case PromptMode::kText:
      return "text";
    case PromptMode::kImage:
      return "image";
    case PromptMode::kExtend:
      return "extend";
    case PromptMode::kLoop:
      return "loop";
    case PromptMode::kConnect:
      return "connect";
    case PromptMode::kEdit:
      return "edit";
  }
  return "?";
}

PromptMode prompt_mode(const MediaPrompt& m) {
  std::vector<std::pair<std::string, PromptMode>> given;
  if (!m.image.empty()) given.emplace_back("--image", PromptMode::kImage);
  if (!m.extend.empty()) given.emplace_back("--extend", PromptMode::kExtend);
  if (m.loop) given.emplace_back("--loop", PromptMode::kLoop);
  if (!m.connect_from.empty() || !m.connect_to.empty())
    given.emplace_back("--connect", PromptMode::kConnect);
  if (!m.edit.empty()) given.emplace_back("--edit", PromptMode::kEdit);
  if (given.size() > 1) {
    std::vector<std::string> names;
    for (const auto& g : given) names.push_back(g.first);
    fail("generate: ", join(names, " and "),
         " ask for two modes at once; give at most one of --image, --extend, --loop, --connect, "
         "--edit (each makes its own kind of video)");
  }
  const PromptMode mode = given.empty() ? PromptMode::kText : given[0].second;
  CUBIST_CHECK(mode != PromptMode::kConnect || (!m.connect_from.empty() && !m.connect_to.empty()),
               "generate: --connect takes two videos, A and B (the passage goes from A's end to "
               "B's start)");
  CUBIST_CHECK(!m.direction || mode == PromptMode::kExtend,
               "generate: --direction applies to --extend only (which end of the video grows)");
  CUBIST_CHECK(!m.direction || *m.direction == "forward" || *m.direction == "backward",
               "generate: --direction '", m.direction.value_or(""),
               "'; accepted: forward (add after the video's end) or backward (add before its "
               "start)");
  CUBIST_CHECK(!m.strength || mode == PromptMode::kEdit,
               "generate: --strength applies to --edit only (how much of the input is redone)");
  CUBIST_CHECK(!m.strength || (*m.strength > 0.0f && *m.strength <= 1.0f), "generate: --strength ",
               m.strength.value_or(0.0f),
               " is outside (0, 1]; accepted: 0 < S <= 1 (small keeps more of the input, 1 "
               "ignores it)");
  CUBIST_CHECK(!m.source || mode == PromptMode::kEdit,
               "generate: --source-prompt applies to --edit only (what the video to edit shows)");
  CUBIST_CHECK(!m.seam_guidance || leads_into_held_frames(mode, m.direction == "backward"),
               "generate: --seam-guidance applies to --extend IN --direction backward and "
               "--connect, whose new frames lead into an input's frames");
  CUBIST_CHECK(!m.seam_guidance || (std::isfinite(*m.seam_guidance) && *m.seam_guidance >= 0.0f),
               "generate: --seam-guidance ", m.seam_guidance.value_or(0.0f),
               "; accepted: 0 (none) or more (default ", kDefaultSeamGuidance, ")");
  CUBIST_CHECK(mode != PromptMode::kLoop || !m.overlap,
               "generate: --loop samples the loop as one cycle, with no overlap; leave out "
               "--overlap (--window sets the windows the cycle is sampled through)");
  CUBIST_CHECK(mode != PromptMode::kEdit || (!m.overlap && !m.window),
               "generate: --edit redoes the whole input in one pass; --overlap and --window do not "
               "apply to it");
  return mode;
}

int64_t default_window(const TextToVideoModel& m) {
  const VaeConfig& vae = m.vae->config();
  const int64_t t = m.trained_frames, pt = m.dit->config().patch.t;
  const bool usable = t > 1 && (t - 1) % vae.temporal_factor() == 0 &&
                      vae.latent_frames(t) % pt == 0 && vae.latent_frames(t) >= 2;
  return usable ? t : kDefaultWindow;
}

uint64_t window_seed(uint64_t seed, int64_t window) {
  return seed + static_cast<uint64_t>(window) * 0x9E3779B97F4A7C15ull;  // golden-ratio steps
}

VideoJob prepare_video_job(const TextToVideoModel& m, const VideoRequest& request,
                           const MediaPrompt& media) {
  VideoJob job;
  job.notes = m.notes;
  job.mode = prompt_mode(media);
  job.request = request;
  if (job.request.expand && !text::speaks_shapes_world(m.tokenizer)) {
    job.request.expand = false;
    job.notes.push_back(
        "the prompt is taken as typed: this model was trained on captions that are not Shapes "
        "World's, the only language prompt expansion writes");
  }
  job.backward = media.direction.value_or("forward") == "backward";
  const float edit_strength = media.source ? kDefaultFlowEditStrength : kDefaultStrength;
  job.strength = media.strength.value_or(job.mode == PromptMode::kEdit ? edit_strength : 1.0f);
  job.window = media.window.value_or(default_window(m));
  if (leads_into_held_frames(job.mode, job.backward))
    job.seam_guidance = media.seam_guidance.value_or(kDefaultSeamGuidance);
  const VaeConfig& vae = m.vae->config();
  const int64_t tf = vae.temporal_factor(), pt = m.dit->config().patch.t;
  const bool clip_mode = job.mode == PromptMode::kText || job.mode == PromptMode::kImage;
  // Every mode but text, loop and edit holds known frames.
  CUBIST_CHECK(m.dit->config().frame_conditioning || job.mode == PromptMode::kText ||
                   job.mode == PromptMode::kLoop || job.mode == PromptMode::kEdit,
               kNoFrameConditioning);
  if (job.mode != PromptMode::kEdit) check_window(job, m, media);
  choose_size(job, m, media);

  // The prompt, steps, guidance and size, with the frames that one generation samples.
  VideoRequest sampled = job.request;
  if (clip_mode && sampled.frames == 0) sampled.frames = job.window;
  if (!clip_mode) sampled.frames = job.mode == PromptMode::kEdit ? 1 : job.window;
  job.prompt = prepare_request(m, sampled);
  if (media.source) {
    CUBIST_CHECK(media.source->find_first_not_of(" \t\n") != std::string::npos,
                 "generate: --source-prompt is empty; give what the video to edit shows (\"a red "
                 "circle moving left on a gray background\"), or leave it out to edit by SDEdit");
    VideoRequest source = sampled;
    source.prompt = *media.source;
    try {
      job.source = prepare_request(m, source);
    } catch (const Error& e) {
      fail("--source-prompt: ", e.what());
    }
    job.source_prompt = *media.source;
  }

  const int64_t W = job.window, Lw = vae.latent_frames(W), K = job.overlap;
  switch (job.mode) {
    case PromptMode::kText:
    case PromptMode::kImage: {
      const int64_t N = sampled.frames;
      job.clip_frames = N;
      if (job.mode == PromptMode::kImage) {
        CUBIST_CHECK(N > 1,
                     "generate: --image with 1 frame leaves nothing to generate (frame 0 is "
                     "the image); ask for ",
                     vae.video_frames(ceil_div(2, pt) * pt), " frames or more");
        Video image = read_input(media.image, job.request, job.notes);
        if (image.frames > 1) {
          job.notes.push_back(base_name(media.image) + ": " + std::to_string(image.frames) +
                              " frames; its first frame is the image");
          image = video_frames(image, 0, 1);
        }
        add_input(job, "image", media.image);
        job.inputs.push_back(std::move(image));
      }
      const int64_t first = vae.latent_frames(std::min(N, W));
      job.windows = {first};
      for (int64_t L : extension_plan(N - vae.video_frames(first), K, Lw, tf, pt, false))
        job.windows.push_back(L);
      job.request.frames = N;
      break;
    }
    case PromptMode::kLoop: {
      // A cycle of M latent frames, tf video frames each, sampled whole (run_video_job).
      const int64_t N = request.frames > 0 ? request.frames : tf * kDefaultLoopLatentFrames;
      const int64_t M = N / tf, L = loop_window(vae, W, M);
      CUBIST_CHECK(N % tf == 0 && M >= 2, "generate: --loop of ", count(N, "frame"),
                   "; a loop is a cycle of latent frames, ", tf,
                   " video frames each, so its length is a multiple of ", tf, ", at least ", 2 * tf,
                   " (nearest: ", std::max<int64_t>(2, M) * tf,
                   N % tf != 0 && M >= 2 ? " or " + std::to_string((M + 1) * tf) : "", ")");
      CUBIST_CHECK(L % pt == 0, "generate: --loop of ", count(N, "frame"),
                   " is sampled through windows of ", L,
                   " latent frames, which this model's temporal patch of ", pt,
                   " does not divide; ask for a multiple of ", tf * pt, " frames");
      job.windows = {M};
      job.request.frames = N;
      break;
    }
    case PromptMode::kExtend: {
      CUBIST_CHECK(request.frames >= 0, "generate: --frames ", request.frames,
                   " with --extend: the frames to add, 1 or more (0 or none: one window's)");
      job.new_frames = request.frames > 0 ? request.frames
                       : job.backward     ? 1 + tf * (Lw - K - 1)
                                          : tf * (Lw - K);
      job.inputs.push_back(
          read_overlap_input(job, "video", media.extend, vae, job.backward ? "first" : "last"));
      job.windows = extension_plan(job.new_frames, K, Lw, tf, pt, job.backward);
      job.request.frames = job.inputs[0].frames + job.new_frames;
      break;
    }
    case PromptMode::kConnect: {
      CUBIST_CHECK(request.frames == 0, "generate: --connect makes one window's passage (",
                   tf * (Lw - 2 * K), " frames with a window of ", W, " and an overlap of ", K,
                   "); set its length with --window, not --frames");
      job.inputs.push_back(read_overlap_input(job, "from", media.connect_from, vae, "last"));
      job.inputs.push_back(read_overlap_input(job, "to", media.connect_to, vae, "first"));
      job.windows = {Lw};
      job.request.frames = job.inputs[0].frames + tf * (Lw - 2 * K) + job.inputs[1].frames;
      break;
    }
    case PromptMode::kEdit: {
      CUBIST_CHECK(request.frames == 0,
                   "generate: --edit keeps the input's frame count; leave out --frames");
      Video in = read_input(media.edit, job.request, job.notes);
      const int64_t T = in.frames;
      CUBIST_CHECK((T - 1) % tf == 0 && vae.latent_frames(T) % pt == 0, "generate: ", media.edit,
                   " has ", T, " frames; the autoencoder takes 1 + ", tf, "k frames",
                   pt > 1 ? " whose latent frame count is a multiple of the patch" : "",
                   " (nearest: ", nearest_frame_counts(vae, pt, T),
                   "); trim the video to one of them");
      add_input(job, "video", media.edit);
      job.windows = {vae.latent_frames(T)};
      job.request.frames = T;
      job.inputs.push_back(std::move(in));
      break;
    }
  }
  CUBIST_CHECK(m.dit->config().frame_conditioning || job.windows.size() == 1, kNoFrameConditioning,
               "; a video longer than one window (", W,
               " frames) continues its first window that way: ask for at most ", W, " frames");
  note_sampling_time(m, job);
  return job;
}

namespace {

// The generations of one job: each window's latents sampled with its known frames held, then
// decoded; the progress callback counts steps over every window.
class WindowRunner {
 public:
  WindowRunner(const TextToVideoModel& m, const VideoJob& job, const flow::StepFn& on_step,
               const TileProgress& on_decode)
      : m_(m), job_(job), on_step_(on_step), on_decode_(on_decode) {}

  Tensor encode(const Video& v) const { return encode_video(*m_.vae, v); }

  Video decode(const Tensor& latents) const {
    return decode_latents(*m_.vae, latents, kFps, on_decode_);
  }

  // run(), decoded.
  Video run(int64_t latents, const Tensor& head, const Tensor& tail, const Tensor& init = {}) {
    return decode(sample(latents, head, tail, init));
  }

  // A window whose last K latent frames hold `next`'s first tf K frames (encode_tail), sampled
  // to lead into them (seam guidance, when job.seam_guidance > 0), decoded.
  Video lead_into(int64_t latents, const Tensor& head, const Video& next) {
    const int64_t K = job_.overlap;
    const Video frames = tail_frames(next, m_.vae->config().temporal_factor() * K);
    return decode(sample(latents, head, encode_tail(*m_.vae, next, K), {}, &frames));
  }

  // `latents` latent frames with `head` [C, a, h, w] held as the first ones and `tail`
  // [C, b, h, w] as the last (undefined: none); from `init` at job.strength when defined (SDEdit).
  // With `tail_pixels`, the frames `tail` stands for, sampling is guided (job.seam_guidance)
  // towards latents whose decoding draws them as given.
  Tensor sample(int64_t latents, const Tensor& head, const Tensor& tail, const Tensor& init = {},
                const Video* tail_pixels = nullptr) {
    const Dims shape = latent_shape(latents);
    GenerateOptions g = options();
    Tensor known, mask;
    if (head.defined() || tail.defined()) {
      known = Tensor::zeros(shape);
      std::vector<int64_t> held;
      if (head.defined()) {
        known.slice(1, 0, head.size(1)).copy_(head);
        for (int64_t t = 0; t < head.size(1); ++t) held.push_back(t);
      }
      if (tail.defined()) {
        known.slice(1, latents - tail.size(1), latents).copy_(tail);
        for (int64_t t = latents - tail.size(1); t < latents; ++t) held.push_back(t);
      }
      mask = frame_mask(latents, shape[2], shape[3], held);
      g.known = &known;
      g.known_mask = &mask;
    }
    if (init.defined()) {
      g.init = &init;
      g.strength = job_.strength;
      if (job_.source) g.source_prompt = &job_.source->ids;
    }
    Tensor target;
    if (tail_pixels && job_.seam_guidance > 0.0f) {
      target = video_to_tensor(*tail_pixels);
      g.guide = [&](const Tensor& clean) {
        return seam_gradient(*m_.vae, clean, target, head.defined() ? head.size(1) : 0,
                             latents - tail.size(1));
      };
      g.guide_scale = job_.seam_guidance;
    }
    return generate(shape, g);
  }

  // A cycle of `latents` latent frames (a loop), sampled through windows of the job's length
  // (of the cycle's, when shorter).
  Tensor sample_cycle(int64_t latents) {
    GenerateOptions g = options();
    g.cycle_window = loop_window(m_.vae->config(), job_.window, latents);
    return generate(latent_shape(latents), g);
  }

 private:
  Dims latent_shape(int64_t latents) const {
    const int64_t sf = m_.vae->config().spatial_factor;
    return {m_.dit->config().latent_channels, latents, job_.request.height / sf,
            job_.request.width / sf};
  }

  // The request's sampling settings, this window's seed, and progress counted over every window.
  GenerateOptions options() {
    GenerateOptions g = sampling_options(job_.request, job_.prompt);
    g.seed = window_seed(job_.request.seed, index_);
    const int before = static_cast<int>(index_) * g.steps;
    const int total = static_cast<int>(job_.windows.size()) * g.steps;
    if (on_step_)
      g.on_step = [this, before, total](int done, int) { on_step_(before + done, total); };
    return g;
  }

  Tensor generate(const Dims& shape, const GenerateOptions& g) {
    ++index_;
    return generate_latents(*m_.dit, shape, job_.prompt.ids, g);
  }

  const TextToVideoModel& m_;
  const VideoJob& job_;
  const flow::StepFn& on_step_;
  const TileProgress& on_decode_;
  int64_t index_ = 0;
};

}  // namespace

Video run_video_job(const TextToVideoModel& m, const VideoJob& job, const flow::StepFn& on_step,
                    const TileProgress& on_decode) {
  WindowRunner runner(m, job, on_step, on_decode);
  const int64_t tf = m.vae->config().temporal_factor(), K = job.overlap;
  const int64_t held = m.vae->config().video_frames(K);  // frames of K latent frames on their own
  // Extends v forward through windows [from, to) until `add` more frames; the latent frames of
  // the frames added go to `added` when given (the last one whole, where `add` is not a
  // multiple of tf).
  auto forward = [&](Video v, int64_t add, size_t from, size_t to,
                     std::vector<Tensor>* added = nullptr) {
    for (size_t i = from; i < to; ++i) {
      const int64_t L = job.windows[i];
      const Tensor z =
          runner.sample(L, runner.encode(video_frames(v, v.frames - held, v.frames)), {});
      const Video w = runner.decode(z);
      const int64_t take = std::min(tf * (L - K), add);
      if (added) added->push_back(z.slice(1, K, K + ceil_div(take, tf)));
      const Video fresh = video_frames(w, held, held + take);  // the re-made overlap dropped
      v = join_videos({&v, &fresh});
      add -= take;
    }
    return v;
  };
  // A passage from a's end to b's start through a window of L latent frames: the window less
  // a's re-made frames and the tf K frames that b's held latent frames stand for.
  auto passage = [&](const Video& a, const Video& b, int64_t L) {
    const Tensor head = runner.encode(video_frames(a, a.frames - held, a.frames));
    const Video w = runner.lead_into(L, head, b);
    return video_frames(w, held, w.frames - tf * K);
  };
  switch (job.mode) {
    case PromptMode::kText:
    case PromptMode::kImage: {
      const Tensor image = job.mode == PromptMode::kImage ? runner.encode(job.inputs[0]) : Tensor();
      std::vector<Tensor> parts{runner.sample(job.windows[0], image, {})};
      const Video first = runner.decode(parts[0]);
      if (job.windows.size() == 1) return first;
      forward(first, job.clip_frames - first.frames, 1, job.windows.size(), &parts);
      return runner.decode(join_latents(parts));
    }
    case PromptMode::kLoop: {
      // The cycle q0 .. q(M-1), sampled whole (GenerateOptions::cycle_window), is decoded after
      // one turn of itself, so that every frame is drawn in the causal context that precedes
      // it as the loop plays round: q(M-1) (as the lone first latent frame), q, q, then q0 again
      // for the cut. The file starts tf - 1 frames into a latent frame's span, so that its last
      // frame leads into its first by a step inside a latent frame, where the decoder's steps
      // are smallest (docs/DIT.md, "Loops are sampled and decoded as a cycle").
      const int64_t M = job.windows[0];
      const Tensor q = runner.sample_cycle(M);
      const Video round =
          runner.decode(join_latents({q.slice(1, M - 1, M), q, q, q.slice(1, 0, 1)}));
      const int64_t from = 1 + tf * M + tf - 1;
      return video_frames(round, from, from + tf * M);
    }
    case PromptMode::kExtend: {
      if (!job.backward) {
        // The input, then the new frames of every window decoded as one sequence after the
        // first window's held latent frames (as chained text windows are).
        const Video& in = job.inputs[0];
        std::vector<Tensor> parts{runner.encode(video_frames(in, in.frames - held, in.frames))};
        if (job.windows.size() == 1) return forward(in, job.new_frames, 0, 1);
        forward(in, job.new_frames, 0, job.windows.size(), &parts);
        const Video whole = runner.decode(join_latents(parts));
        const Video fresh = video_frames(whole, held, held + job.new_frames);
        return join_videos({&in, &fresh});
      }
      Video v = job.inputs[0];
      int64_t add = job.new_frames;
      for (const int64_t L : job.windows) {
        const Video w = runner.lead_into(L, {}, v);
        const int64_t before = w.frames - tf * K;  // frames ahead of the held latent frames
        const int64_t take = std::min(before, add);
        const Video fresh = video_frames(w, before - take, before);
        v = join_videos({&fresh, &v});
        add -= take;
      }
      return v;
    }
    case PromptMode::kConnect: {
      const Video& a = job.inputs[0];
      const Video& b = job.inputs[1];
      const Video between = passage(a, b, job.windows[0]);
      return join_videos({&a, &between, &b});
    }
    case PromptMode::kEdit:
      return runner.run(job.windows[0], {}, {}, runner.encode(job.inputs[0]));
  }
  fail("generate: unknown mode");
}

nlohmann::ordered_json job_provenance(const TextToVideoModel& m, const VideoJob& job,
                                      bool with_time) {
  nlohmann::ordered_json j = provenance(m, job.request, job.prompt, false);
  j["mode"] = prompt_mode_name(job.mode);
  if (!job.input_record.empty()) j["inputs"] = job.input_record;
  if (job.size_from_input) j["size_from_input"] = true;  // the command that makes it again
  if (job.mode == PromptMode::kExtend) {
    j["direction"] = job.backward ? "backward" : "forward";
    j["new_frames"] = job.new_frames;
  }
  if (job.seam_guidance > 0.0f) j["seam_guidance"] = as_given(job.seam_guidance);
  if (job.mode == PromptMode::kEdit) {
    j["edit"] = job.source ? "flowedit" : "sdedit";
    j["strength"] = as_given(job.strength);
    if (job.source) {
      j["source_prompt"] = job.source_prompt;
      j["source_expanded_prompt"] = job.source->conditioned;
      if (!job.source->filled.empty()) j["source_filled"] = job.source->filled;
    }
  } else {
    if (job.mode != PromptMode::kLoop) j["overlap"] = job.overlap;  // a cycle holds nothing
    j["window"] = job.window;
  }
  if (!job.notes.empty()) j["notes"] = job.notes;
  if (with_time) {
    stamp_run(j, m);
    // Where the inputs were, for the command that makes the video again from any folder (the
    // tags, and so the bytes, hold their file names alone).
    for (const std::string& p : job.input_paths)
      j["run"]["inputs"].push_back(fs::absolute(p).lexically_normal().string());
  }
  return j;
}

void check_output_path(const std::string& out, int64_t frames) {
  check_video_output(out);  // a form or place write_video cannot write is an Error saying why
  check_output_place(sidecar_path(out));  // written after the video, so checked before it
  check_replaces_only(sidecar_path(out), {"provenance record"}, "generate's provenance record");
  CUBIST_CHECK(ascii_lower(fs::path(out).extension().string()) != ".png" || frames == 1, out,
               ": a .png holds one frame and this video has ", frames,
               "; write .mp4, .webm, .gif or a folder of PNG frames (a path ending in "
               "'/'), or ask for --frames 1");
}

Tensor encode_video(const Vae& vae, const Video& video) {
  // Chunks of 4 latent frames bound the memory of long inputs (the result is the one-pass one),
  // tiles that of large frames.
  return encode_tiled(vae, video_to_tensor(video), 4 * vae.config().temporal_factor()).squeeze(0);
}

Tensor encode_tail(const Vae& vae, const Video& video, int64_t K) {
  CUBIST_CHECK(K >= 1 && video.frames >= 1, "encode_tail: ", K, " latent frames of a video of ",
               video.frames, " frames");
  const Video first = video_frames(video, 0, 1);
  const Video frames = tail_frames(video, vae.config().temporal_factor() * K);
  const Tensor z = encode_video(vae, join_videos({&first, &frames}));
  return z.slice(1, 1, K + 1).contiguous();
}

Video tail_frames(const Video& video, int64_t n) {
  CUBIST_CHECK(n >= 1 && video.frames >= 1, "tail_frames: ", n, " frames of a video of ",
               video.frames);
  const Video head = video_frames(video, 0, std::min(n, video.frames));
  std::vector<const Video*> parts{&head};
  const Video last = video_frames(video, head.frames - 1, head.frames);
  for (int64_t i = head.frames; i < n; ++i) parts.push_back(&last);
  return join_videos(parts);
}

Video decode_latents(const Vae& vae, const Tensor& latents, double fps,
                     const TileProgress& progress) {
  // Latents that are not numbers decode to a black or flat video with no error of their own.
  CUBIST_CHECK(ops::all_finite(latents),
               "generate: sampling gave values that are not finite numbers (NaN or infinity), "
               "which would decode to a blank video: the model's weights may be damaged (a file "
               "changed since it was trained or exported), or a setting too extreme");
  return tensor_to_video(decode_tiled(vae, latents.unsqueeze(0).contiguous(), 1, {}, progress),
                         fps);
}

Video video_frames(const Video& v, int64_t start, int64_t end) {
  CUBIST_CHECK(0 <= start && start <= end && end <= v.frames, "video_frames: frames [", start, ", ",
               end, ") of a video of ", v.frames);
  Video out(end - start, v.height, v.width, v.fps);
  std::copy(v.frame(start), v.frame(start) + out.rgb.size(), out.rgb.begin());
  return out;
}

Tensor join_latents(const std::vector<Tensor>& parts) {
  Dims shape = parts.front().shape();
  shape[1] = 0;
  for (const Tensor& p : parts) shape[1] += p.size(1);
  Tensor out = Tensor::zeros(shape);
  int64_t t = 0;
  for (const Tensor& p : parts) {
    out.slice(1, t, t + p.size(1)).copy_(p);
    t += p.size(1);
  }
  return out;
}

Video join_videos(const std::vector<const Video*>& parts) {
  CUBIST_CHECK(!parts.empty(), "join_videos: nothing to join");
  const Video& first = *parts.front();
  int64_t frames = 0;
  for (const Video* p : parts) {
    CUBIST_CHECK(p->width == first.width && p->height == first.height, "join_videos: ", p->width,
                 "x", p->height, " beside ", first.width, "x", first.height,
                 "; parts must have one size");
    frames += p->frames;
  }
  Video out(frames, first.height, first.width, first.fps);
  auto it = out.rgb.begin();
  for (const Video* p : parts) it = std::copy(p->rgb.begin(), p->rgb.end(), it);
  return out;
}

std::vector<std::string> input_files(const MediaPrompt& media) {
  std::vector<std::string> files;
  for (const std::string& in :
       {media.image, media.extend, media.connect_from, media.connect_to, media.edit})
    if (!in.empty()) files.push_back(in);
  return files;
}

void check_output_is_not_an_input(const std::string& out, const MediaPrompt& media) {
  for (const std::string& in : input_files(media)) {
    std::error_code ec;  // false, with ec set, when either is not there
    if (fs::equivalent(without_trailing_slashes(in), without_trailing_slashes(out), ec))
      fail(out, ": is also the input ", in,
           "; write the new video to another file (it would replace the input, and its record "
           "would name a file that no longer holds what it was made from)");
  }
}

}  // namespace cubist
