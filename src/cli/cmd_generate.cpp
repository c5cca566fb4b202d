// `cubist generate "PROMPT" -o OUT`: a video from a text prompt with a trained model, optionally
// prompted with an image or videos as well (--image, --extend, --loop, --connect, --edit). The
// library does the work (src/pipeline/text_to_video.h, video_prompts.h); this file reads the
// arguments and reports.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "core/strings.h"
#include "io/output_folder.h"
#include "pipeline/video_prompts.h"

namespace cubist::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: cubist generate \"PROMPT\" -o OUT [--size WxH] [--frames N] [--steps 30]\n"
    "                       [--guidance 5] [--guidance-rule cfg|projected] [--shift S]\n"
    "                       [--seed 1] [--sampler heun|euler] [--negative-prompt TEXT]\n"
    "                       [--no-expand] [--model DIR] [--window F] [--overlap K]\n"
    "                       [--image FILE | --extend IN [--direction forward|backward] |\n"
    "                        --loop | --connect A B |\n"
    "                        --edit IN [--strength S] [--source-prompt TEXT]]\n"
    "                       [--seam-guidance G]\n"
    "       cubist generate --batch FILE [--model DIR]\n"
    "\n"
    "Generates a video from a text prompt. The prompt is first expanded into the detailed\n"
    "caption the model was trained on, with what it leaves unsaid drawn under --seed (\"a red\n"
    "ball\" -> \"a small red circle bouncing on a navy background\"; docs/TEXT.md); the expanded\n"
    "prompt is printed and is what the model is conditioned on. --no-expand conditions on the\n"
    "prompt as typed (every word must be in the model's vocabulary), as does a model trained\n"
    "on captions that are not Shapes World's. Every output carries its provenance, inside\n"
    "the file (MP4, WebM and PNG tags, a GIF's comment) and in OUT.json beside it; `cubist\n"
    "info OUT` reads it back, with the command that makes the same video again.\n"
    "\n"
    "-o OUT        .mp4 (H.264), .webm (VP9), .gif, .png (one frame: --frames 1 makes an\n"
    "              image), or a folder of PNG frames (a path ending in '/' or without extension)\n"
    "--size WxH    width x height of the output; multiples of the autoencoder's spatial factor\n"
    "              times the patch (16 for the Shapes World model). Default: the size of the\n"
    "              image or video given (--image, --extend, --connect's A, --edit), rounded\n"
    "              to the nearest the model takes; without one, 96x64. Inputs of another size\n"
    "              are resized to it (bicubic), with a note; inputs at another frame rate are\n"
    "              read at 8 fps, with a note\n"
    "--frames N    1 + 4k frames for the Shapes World autoencoder (1 = an image), at 8 fps;\n"
    "              default one window. Longer than the window: the video is made window by\n"
    "              window, each extending the last forward over K latent frames of overlap.\n"
    "              With --extend: the frames to add (any number; default one window's).\n"
    "              With --loop: the loop's length, a multiple of 4 of at least 8 (default 28)\n"
    "--steps N     sampling steps per window (Heun takes two model evaluations a step)\n"
    "--guidance G  classifier-free guidance scale, 1 to 100 (1 = none; 4 to 7 are usual)\n"
    "--guidance-rule R  cfg (default): classifier-free guidance; projected: the guidance\n"
    "              less its part along the clean prediction (Sadat et al. 2024), which\n"
    "              over-saturates less (docs/DIT.md)\n"
    "--negative-prompt TEXT  what the video should not show: guidance steers away from it\n"
    "              instead of from the empty prompt (taken as typed, in the model's words)\n"
    "--shift S     the sampling schedule's time shift, > 0: above 1 spends more of the steps\n"
    "              at high noise (layout, motion), below 1 at low noise (detail); 0 or left\n"
    "              out: the model's own for the clip's size (docs/DIT.md)\n"
    "--seed S      the prompt expansion and the noise: the same seed gives the same video\n"
    "--model DIR   a folder holding dit.safetensors (`cubist train`) and vae.safetensors,\n"
    "              or the transformer's file itself (a dit.safetensors or checkpoint, the\n"
    "              autoencoder beside it); a training run's folder or file takes the\n"
    "              autoencoder its latents were encoded by; default: $CUBIST_MODEL, else\n"
    "              models/shapes/ in the working directory or beside the executable\n"
    "--window F    frames the model generates at once (1 + 4k, at least 5); default: the\n"
    "              length the model's training run sampled at, else 17\n"
    "--overlap K   latent frames held from a video to continue it (each stands for 4 frames;\n"
    "              K of them, encoded alone, for the video's last or first 1 + 4(K-1) frames);\n"
    "              1 to window's latent frames - 1 (--connect: both ends held, so at most\n"
    "              half of them less one); default 1 (the last or first frame)\n"
    "\n"
    "Prompting with images and videos (at most one; all but --loop and --edit need a model\n"
    "trained with \"frame_conditioning\": true, as do videos longer than one window):\n"
    "--image FILE  animate an image: it is the first frame (as the autoencoder reproduces it)\n"
    "--extend IN   continue a video: --direction forward (default) appends new frames after\n"
    "              IN's end, backward puts them before its start; IN's frames are kept as they\n"
    "              are, and IN needs at least 1 + 4(K-1) frames\n"
    "--loop        a video of --frames that loops: it is sampled as a cycle, through windows\n"
    "              cut round it at places that move every step, and decoded as it plays\n"
    "              round, so the last frame flows into the first like any other two\n"
    "              (docs/DIT.md)\n"
    "--connect A B a passage from video A's end to video B's start: A + passage + B; the\n"
    "              passage is one window long less the held ends (12 frames at the defaults)\n"
    "--edit IN     redo video IN under the prompt (SDEdit: IN noised, then denoised under\n"
    "              the prompt); IN needs 1 + 4k frames\n"
    "--strength S  how much of IN is redone, in (0, 1] (default 0.6, with --source-prompt\n"
    "              1; SDEdit at 1 ignores IN)\n"
    "--source-prompt TEXT  with --edit: what IN shows; the edit then moves IN from this\n"
    "              prompt towards the prompt (FlowEdit), changing it only where the two\n"
    "              prompts disagree (\"a red ball\" -> \"a blue ball\" keeps the motion and\n"
    "              the rest of the scene); expanded as the prompt is, under the same seed;\n"
    "              FlowEdit takes Euler steps whatever --sampler says\n"
    "--seam-guidance G  backward --extend and --connect: how hard sampling is pulled\n"
    "              towards new frames that lead into the input's first frames as they are,\n"
    "              the decoder's drawing of them checked at every step; default 4, 0 for\n"
    "              none (about 5 times faster); to --connect two parts of one video (a\n"
    "              middle cut out and made again), 1.5 carries more of the objects'\n"
    "              motion on into B, where 4 bends it onto B's first positions\n"
    "\n"
    "--batch FILE  many generations, the model loaded once: each line of FILE (- for standard\n"
    "              input, read to its end) holds the arguments of one (\"PROMPT\" -o OUT\n"
    "              [options], quoted as in a shell; blank lines and lines starting with # are\n"
    "              skipped). Every line is checked before the first is generated; one that\n"
    "              fails while generating is reported and the rest go on (the exit status\n"
    "              is then 1)\n"
    "\n"
    "Provenance: OUT.json beside the output records the prompt, expanded prompt, what was\n"
    "filled in, seed, steps, guidance, sampler, size, frames, the model files with their\n"
    "SHA-256, the mode and its inputs (file names and SHA-256, direction, overlap, window,\n"
    "strength, the edit's method and source prompt, notes), the Cubist version,\n"
    "\"ai_generated\": true and the UTC time; MP4, WebM and frame folders also carry it as\n"
    "metadata (comment = \"AI-generated by Cubist; prompt: ...\").\n";

// An option that may be left out; read either way, so that the parser knows it.
template <typename T, typename Read>
std::optional<T> optional(Args& args, const std::string& name, Read read) {
  const bool given = args.has(name);
  const T value = read(name);
  return given ? std::optional<T>(value) : std::nullopt;
}

MediaPrompt read_media(Args& args) {
  MediaPrompt m;
  m.image = args.str("--image", "");
  m.extend = args.str("--extend", "");
  m.direction = optional<std::string>(args, "--direction",
                                      [&](const std::string& n) { return args.str(n, ""); });
  m.loop = args.flag("--loop");
  const std::vector<std::string> connect =
      args.values("--connect", 2, "--connect A.mp4 B.mp4 (a passage from A's end to B's start)");
  if (!connect.empty()) m.connect_from = connect[0], m.connect_to = connect[1];
  m.edit = args.str("--edit", "");
  m.strength = optional<float>(args, "--strength", [&](const std::string& n) {
    return static_cast<float>(args.number(n, kDefaultStrength));
  });
  m.source = optional<std::string>(args, "--source-prompt",
                                   [&](const std::string& n) { return args.str(n, ""); });
  m.overlap = optional<int64_t>(args, "--overlap",
                                [&](const std::string& n) { return args.integer(n, 0); });
  m.window =
      optional<int64_t>(args, "--window", [&](const std::string& n) { return args.integer(n, 0); });
  m.seam_guidance = optional<float>(args, "--seam-guidance", [&](const std::string& n) {
    return static_cast<float>(args.number(n, kDefaultSeamGuidance));
  });
  return m;
}

// One generation's arguments: the prompt and every option but --model and --batch.
struct Call {
  VideoRequest request;
  std::string out;
  MediaPrompt media;
};

// Reads a call's options and prompt from `args` and finishes them; everything that can be
// checked before the model loads is (conflicting modes, an output that cannot be written).
Call read_call(Args& args) {
  Call c;
  VideoRequest& r = c.request;
  c.out = args.str("-o", "");
  if (c.out.empty()) c.out = args.str("--out", "");
  // 0x0 without --size: an input's size (rounded to what the model takes), else 96x64.
  const std::string size = args.str("--size", "");
  r.width = r.height = 0;
  if (!size.empty()) std::tie(r.width, r.height) = parse_size("--size", size);
  const bool frames_given = args.has("--frames");
  r.frames = args.integer("--frames", 0);  // 0: the mode's default
  const int64_t steps = args.integer("--steps", r.steps);
  r.guidance = static_cast<float>(args.number("--guidance", r.guidance));
  r.shift = static_cast<float>(args.number("--shift", r.shift));
  r.seed = args.seed("--seed", r.seed);
  const std::string sampler = args.str("--sampler", "heun");
  const std::string rule = args.str("--guidance-rule", "cfg");
  r.expand = !args.flag("--no-expand");
  r.negative_prompt = args.str("--negative-prompt", "");
  c.media = read_media(args);
  const std::vector<std::string> pos = args.positional();
  args.finish();
  if (pos.size() != 1)
    throw UsageError("give exactly one prompt, in quotes (got " + std::to_string(pos.size()) +
                     " arguments" + (pos.empty() ? "" : ": '" + join(pos, "', '") + "'") + ")");
  if (c.out.empty())
    throw UsageError("give the video to write with -o OUT (.mp4, .webm, .gif, .png, DIR/)");
  if (sampler != "heun" && sampler != "euler")
    throw UsageError("--sampler takes heun or euler, not '" + sampler + "'");
  if (rule != "cfg" && rule != "projected")
    throw UsageError("--guidance-rule takes cfg or projected, not '" + rule + "'");
  if (steps > 100000) throw UsageError("--steps takes at most 100000");
  if (r.width > kMaxVideoSide || r.height > kMaxVideoSide)
    throw UsageError("--size takes sides of at most " + std::to_string(kMaxVideoSide) +
                     " (the largest a video is written at), not " + size);
  // 100001 = 1 + 4k (and 1 + 8k): the nearest counts a model suggests stay within the bound.
  if (frames_given && (r.frames < 1 || r.frames > 100001))
    throw UsageError("--frames takes 1 to 100001, not " + std::to_string(r.frames));
  r.steps = static_cast<int>(std::max<int64_t>(steps, -1));  // < 1: the library says why
  r.sampler = flow::sampler_named(sampler);
  r.guidance_rule = flow::guidance_rule_named(rule);
  r.prompt = pos[0];
  prompt_mode(c.media);         // conflicting options fail before the model loads
  check_output_path(c.out, 1);  // an output form that cannot be written fails before sampling
  check_output_is_not_an_input(c.out, c.media);
  return c;
}

// Prints what the job will do: the prompt as conditioned on, notes, the mode.
void print_job(const VideoJob& job) {
  if (job.request.expand) {
    std::printf("expanded: %s\n", job.prompt.conditioned.c_str());
    std::printf("filled: %s\n", job.prompt.filled.empty() ? "nothing (the prompt said it all)"
                                                          : join(job.prompt.filled, ", ").c_str());
  } else {
    std::printf("prompt: %s (as typed, not expanded)\n", job.prompt.conditioned.c_str());
  }
  if (!job.prompt.negative.empty())
    std::printf("negative: %s\n", job.request.negative_prompt.c_str());
  for (const std::string& note : job.notes) std::printf("note: %s\n", note.c_str());
  if (job.mode == PromptMode::kEdit && job.source) {
    std::printf("source: %s\n", job.source->conditioned.c_str());
    std::printf("mode: edit by FlowEdit from the source prompt, strength %g, Euler steps\n",
                static_cast<double>(job.strength));
  } else if (job.mode == PromptMode::kEdit) {
    std::printf("mode: edit by SDEdit, strength %g\n", static_cast<double>(job.strength));
  } else if (job.mode == PromptMode::kLoop) {
    std::printf(
        "mode: loop, a cycle of %lld latent frames sampled through windows of at most "
        "%lld frames\n",
        static_cast<long long>(job.windows[0]), static_cast<long long>(job.window));
  } else if (job.windows.size() > 1 || job.mode != PromptMode::kText) {
    const bool one_image = job.mode == PromptMode::kImage && job.windows.size() == 1;
    std::printf("mode: %s, %zu window%s of at most %lld frames", prompt_mode_name(job.mode),
                job.windows.size(), job.windows.size() > 1 ? "s" : "",
                static_cast<long long>(job.window));
    if (!one_image)
      std::printf(", overlap %lld latent frame%s", static_cast<long long>(job.overlap),
                  job.overlap == 1 ? "" : "s");
    if (job.seam_guidance > 0.0f)
      std::printf(", seam guidance %g", static_cast<double>(job.seam_guidance));
    std::printf("\n");
  }
  std::fflush(stdout);
}

void generate_one(const TextToVideoModel& model, const Call& c) {
  const VideoJob job = prepare_video_job(model, c.request, c.media);
  check_output_path(c.out, job.request.frames);
  print_job(job);
  Progress bar("generate", job.request.steps * static_cast<int64_t>(job.windows.size()), "step");
  int steps = 0;
  // Decoding large frames can take longer than sampling them: the bar says where it is.
  const auto decoding = [&](int64_t done, int64_t total) {
    bar.update(steps,
               " decoding " + std::to_string(100 * done / std::max<int64_t>(total, 1)) + "%");
  };
  const Video video = run_video_job(
      model, job,
      [&](int done, int) {
        steps = done;
        bar.update(done);
      },
      decoding);
  bar.finish();
  const std::string side = write_generated(c.out, video, job_provenance(model, job));
  std::printf("generate: %s (%lld frame%s, %lldx%lld, seed %llu); provenance in %s\n",
              c.out.c_str(), static_cast<long long>(video.frames), video.frames == 1 ? "" : "s",
              static_cast<long long>(video.width), static_cast<long long>(video.height),
              static_cast<unsigned long long>(job.request.seed), side.c_str());
  std::fflush(stdout);
}

// `path` as the system finds it, so that two names of one file compare equal.
std::string canonical_path(const std::string& path) {
  std::error_code ec;  // a folder that cannot be read: the path as given
  const fs::path p = fs::weakly_canonical(without_trailing_slashes(path), ec);
  return ec ? path : p.string();
}

// An Error listing the lines of a batch that cannot be run, when there are any.
void refuse_bad_lines(const std::vector<std::string>& bad, const std::string& name) {
  for (const std::string& b : bad) std::fprintf(stderr, "cubist generate: %s\n", b.c_str());
  if (!bad.empty())
    throw UsageError(std::to_string(bad.size()) + " line" + (bad.size() == 1 ? "" : "s") + " of " +
                     name + " cannot be run (above); nothing was generated");
}

// `--batch FILE`: each line the arguments of one generation, read and checked before the model
// loads once for them all; a line that fails is reported and the rest go on.
int generate_batch(const std::string& file, const std::string& model_dir) {
  std::ifstream opened;
  if (file != "-") {
    opened.open(file);
    if (!opened) throw UsageError("--batch " + file + ": cannot open it");
  }
  std::istream& in = file == "-" ? std::cin : opened;  // "-": standard input, read to its end
  const std::string name = file == "-" ? "stdin" : file;
  std::vector<std::pair<std::string, Call>> calls;  // "FILE:LINE", the call
  std::vector<std::string> bad;
  std::map<std::string, std::string> outputs;  // output path (as the system finds it): its line
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    const std::string where = name + ":" + std::to_string(n);
    try {
      const std::vector<std::string> words = split_arguments(line);
      if (words.empty() || words[0].rfind('#', 0) == 0) continue;  // blank, or a comment
      Args args(words);
      for (const char* once : {"--model", "--batch"})
        if (args.has(once))
          throw UsageError(std::string(once) + " is given once, on the command line");
      Call call = read_call(args);
      if (const auto [at, fresh] = outputs.emplace(canonical_path(call.out), where); !fresh)
        throw UsageError("-o " + call.out + " is written by " + at->second +
                         " too; give each line its own output");
      calls.emplace_back(where, std::move(call));
    } catch (const Error& e) {
      bad.push_back(where + ": " + e.what());
    }
  }
  refuse_bad_lines(bad, name);
  if (calls.empty()) throw UsageError("--batch " + name + " holds no generation (one a line)");
  const TextToVideoModel model = load_text_to_video(model_dir);
  // What needs the model (sizes it takes, words it knows, the inputs' frames) is checked for
  // every line too, before the first is generated.
  for (const auto& [where, call] : calls) {
    const std::vector<std::string> inputs = input_files(call.media);
    if (std::any_of(inputs.begin(), inputs.end(), [&](const std::string& input) {
          return outputs.count(canonical_path(input));  // made by the batch: checked in its turn
        }))
      continue;
    try {
      check_output_path(call.out,
                        prepare_video_job(model, call.request, call.media).request.frames);
    } catch (const Error& e) {
      bad.push_back(where + ": " + e.what());
    }
  }
  refuse_bad_lines(bad, name);
  size_t failed = 0;
  for (size_t i = 0; i < calls.size(); ++i) {
    std::printf("generate --batch: %zu of %zu, %s\n", i + 1, calls.size(), calls[i].first.c_str());
    std::fflush(stdout);  // before the line's own messages on stderr, which it heads
    try {
      generate_one(model, calls[i].second);
    } catch (const Error& e) {
      ++failed;
      std::fprintf(stderr, "cubist generate: %s: error: %s\n", calls[i].first.c_str(), e.what());
    }
  }
  std::printf("generate --batch: %zu of %zu written%s\n", calls.size() - failed, calls.size(),
              failed ? "; the others failed (above)" : "");
  return failed ? 1 : 0;
}

}  // namespace

int cmd_generate(int argc, char** argv) {
  Args args(argc, argv);
  if (args.flag("--help") || args.flag("-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string model_dir = args.path("--model");
  const std::string batch = args.str("--batch", "");
  if (!batch.empty()) {
    try {
      args.finish();
    } catch (const UsageError& e) {
      throw UsageError(std::string(e.what()) +
                       "; with --batch, the options of each generation go on its line of " + batch);
    }
    return generate_batch(batch, model_dir);
  }
  const Call call = read_call(args);
  const TextToVideoModel model = load_text_to_video(model_dir);
  generate_one(model, call);
  return 0;
}

}  // namespace cubist::cli
