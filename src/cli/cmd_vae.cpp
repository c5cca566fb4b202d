// `cubist vae`: the video autoencoder's jobs.
//   train   train on Shapes World (generated in memory) or a manifest; resumes from DIR
//   encode  a video or image -> a latent file
//   decode  a latent file -> a video
//   cache   every video of a manifest -> latent files and a latent manifest, for the transformer
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "core/allocator.h"
#include "data/latent_cache.h"
#include "io/output_folder.h"
#include "io/safetensors.h"
#include "models/model_files.h"
#include "models/vae/latent_io.h"
#include "models/vae/tiling.h"
#include "models/vae/vae.h"
#include "pipeline/file_info.h"
#include "train/process_group.h"
#include "train/vae_trainer.h"

namespace cubist::cli {

namespace {

const char* kUsage =
    "usage: cubist vae train --out DIR [--config FILE] [--data MANIFEST [--held-out MANIFEST]]\n"
    "                        [--steps N]\n"
    "       cubist vae encode IN -o LATENT.safetensors [--model VAE] [--pad] [--chunk F]\n"
    "                         [--tile PX [--tile-overlap PX]] [--refine N] [--refine-lr LR]\n"
    "                         [--refine-chunk L]\n"
    "       cubist vae decode LATENT -o OUT.mp4 [--model VAE] [--chunk L] [--tile PX]\n"
    "                         [--tile-overlap PX]\n"
    "       cubist vae cache --data MANIFEST --out DIR [--model VAE] [--pad]\n"
    "                        [--clip-frames F] [--max-side PX] [--fps R]\n"
    "       cubist vae export VAE -o OUT.safetensors [--bf16]\n"
    "\n"
    "train   Trains the causal video autoencoder. Without --data it trains on Shapes World clips\n"
    "        generated in memory; held-out PSNR (train.eval_every) is measured on clips of\n"
    "        other draws, or of the videos of --held-out MANIFEST, kept out of training;\n"
    "        --config FILE holds {\"model\": {...}, \"train\": {...}}\n"
    "        (configs/vae/shapes.json is the default, built in). DIR receives "
    "checkpoint.safetensors\n"
    "        (to resume), vae.safetensors (the weights), log.csv and loss.svg. Running the same\n"
    "        command again resumes from the last checkpoint; Ctrl-C (or SIGTERM, SIGUSR1,\n"
    "        SIGUSR2) saves one first (exit status 130, 143; 0 for SIGUSR1/2); under mpirun,\n"
    "        `kill -USR1 <mpirun's pid>`.\n"
    "        --steps N overrides the config's step count (to extend a finished run).\n"
    "        Fine-tuning: train.init names the weights a new run starts from; with\n"
    "        train.freeze_encoder only the decoder learns, so latents (and a latent cache, and a\n"
    "        transformer trained on them) stay valid (configs/vae/shapes_decoder.json).\n"
    "encode  Encodes a video (any format FFmpeg reads, a folder of PNG frames, or an image)\n"
    "        to the posterior mean. The autoencoder takes 1 + 4k frames of sides that are\n"
    "        multiples of 8 (for the default model); other videos are refused unless --pad is\n"
    "        given, which repeats the last frame and the edge pixels and records the true\n"
    "        size so that decode crops back. --chunk F reads and encodes F frames at a time\n"
    "        after the first (a multiple of 4; default 16; 0 = one pass, the whole video in\n"
    "        memory). Frames wider or taller than --tile PX pixels (default 256; 0 = whole\n"
    "        frames) are encoded in overlapping tiles of PX x PX, blended across\n"
    "        --tile-overlap PX (default a quarter of a tile), so memory does not grow with\n"
    "        the frame either (an approximation where it applies: docs/VAE.md). --refine N\n"
    "        then takes N steps on the latent itself towards one the decoder turns back into\n"
    "        the video more exactly (Shapes World 17x64x64: about +2 dB PSNR at 100 steps,\n"
    "        9 s on 2 cores; the latent keeps its shape; memory holds the decoding of the\n"
    "        frames refined at a time, as training does, untiled). --refine-lr LR is its\n"
    "        starting step (default 0.1, decaying to 0). --refine-chunk L refines L latent\n"
    "        frames (4L frames) at a time, the first alone, each chunk N steps together with\n"
    "        the next, after those before it, so memory holds two chunks' decoding and\n"
    "        frames, however long the video (it is read again a window at a time; 0: the\n"
    "        whole clip at once; default: the whole clip when it fits in memory, else the\n"
    "        longest chunks that do; chunks lose a little of the gain: docs/VAE.md).\n"
    "        Default --refine 0: the encoder alone.\n"
    "decode  Decodes a latent file to a video (.mp4, .webm, .gif, or a folder of PNG frames),\n"
    "        L latent frames at a time (default 1) straight into the file, so memory does not\n"
    "        grow with the length, and frames larger than --tile PX (default 256; 0 = whole\n"
    "        frames) tile by tile; a refined latent (encode --refine) whole, as it was refined,\n"
    "        unless --tile is given.\n"
    "cache   Encodes every video of a JSONL manifest into DIR/latents/NNNNNN.safetensors and\n"
    "        writes DIR/latents.jsonl (latent, path, caption, frames, width, height); videos\n"
    "        already cached are skipped, so an interrupted cache resumes; a DIR of latents\n"
    "        from other encoder weights is refused. Each latent file records the autoencoder's\n"
    "        path (`cubist train` decodes its samples with it) and its encoder's fingerprint\n"
    "        (a decoder fine-tuned alone, train.freeze_encoder, keeps the cache valid).\n"
    "        The transformer trains on each line as one sequence, so long or large videos are\n"
    "        cut: --clip-frames F (1 + 4k) cuts each into consecutive clips of F frames (the\n"
    "        last: the most of what is left that is 1 + 4k; each clip a line with its\n"
    "        start_frame), --max-side PX scales frames down so the longer side is at most PX\n"
    "        (the aspect kept, then centre-cropped to multiples of 8), --fps R reads at R\n"
    "        frames a second. Default 0 for each: whole videos at their size and rate.\n"
    "export  Writes the weights of a checkpoint (and its metadata) alone, in bf16 with --bf16:\n"
    "        how the bundled model was made from a training run's vae.safetensors.\n"
    "--model VAE  a vae.safetensors from `cubist vae train`, or a folder that holds one (a model\n"
    "        folder, or vae train's --out); default: $CUBIST_VAE, else\n"
    "        vae.safetensors in $CUBIST_MODEL (a model folder), else in the bundled model folder\n"
    "        models/shapes/ (looked for in the working directory and beside the executable).";

// --model VAE (a file, or a model or training folder holding vae.safetensors), else
// $CUBIST_VAE, else vae.safetensors of the default model folder.
std::string find_model(const std::string& given) {
  std::error_code ec;
  if (!given.empty() && std::filesystem::is_directory(given, ec))
    return find_model_file(kVaeFile, given,
                           "--model names a folder; give a vae.safetensors file, or a folder "
                           "that holds one (a model folder, or a `cubist vae train --out` folder)");
  if (!given.empty()) return given;
  if (const char* env = std::getenv("CUBIST_VAE"); env && *env) {
    if (!std::filesystem::exists(env, ec))
      throw Error(std::string("CUBIST_VAE=") + env +
                  ": no such file; point it at a vae.safetensors (or a folder that holds one), "
                  "unset it for the default model's, or give --model VAE");
    if (std::filesystem::is_directory(env, ec))
      return find_model_file(kVaeFile, env, "CUBIST_VAE names a folder without one");
    return env;
  }
  return find_model_file(kVaeFile, "",
                         "pass --model VAE, or train one with `cubist vae train --out DIR` "
                         "(the weights are DIR/vae.safetensors)");
}

std::string output_path(Args& args) {
  std::string out = args.str("-o", "");
  if (out.empty()) out = args.str("--out", "");
  return out;
}

std::string single_input(Args& args, const char* what) {
  const std::vector<std::string> pos = args.positional();
  if (pos.size() != 1)
    throw UsageError(std::string("give exactly one ") + what + " (got " +
                     std::to_string(pos.size()) + ")");
  return pos[0];
}

int train(Args& args) {
  const std::string out = args.required("--out");
  const std::string config = args.str("--config", "");
  const std::string data = args.str("--data", "");
  const std::string held_out = args.str("--held-out", "");
  const bool steps_given = args.has("--steps");
  const int64_t steps = args.integer("--steps", 0);
  args.finish();
  if (steps_given && steps < 1)
    throw UsageError("--steps " + std::to_string(steps) +
                     ": give the step to train to, 1 or more (default: the config's steps)");
  for (const std::string& m : {data, held_out})  // before the run's header
    if (!m.empty() && !std::filesystem::is_regular_file(m))
      throw Error(m + ": no such manifest (--data and --held-out take the manifest.jsonl of " +
                  "`cubist data shapes` or `cubist data index`)");
  if (!held_out.empty() && data.empty())
    throw UsageError("--held-out names videos kept out of a --data manifest; give --data too");
  VaeTrainOptions o;
  o.out_dir = out;
  o.manifest = data;
  o.held_out = held_out;
  if (!config.empty()) {
    o.model = VaeConfig::from_file(config);
    std::ifstream in(config);
    o.train = VaeTrainConfig::from_json(nlohmann::json::parse(in));
  }
  if (steps_given) o.train.steps = steps;
  o.stop = stop_on_signals();
  o.group = &world();
  const bool reports = o.group->rank() == 0;  // of several processes, rank 0 reports for all

  if (reports) {
    std::printf("vae train: %s autoencoder, %s; %lld steps of %lld clip(s)",
                o.model.summary().c_str(), data.empty() ? "Shapes World in memory" : data.c_str(),
                static_cast<long long>(o.train.steps), static_cast<long long>(o.train.batch));
    if (o.group->size() > 1) std::printf(" over %d processes (data parallel)", o.group->size());
    std::printf(" into %s\n", out.c_str());
    // train.read_max_side and read_fps, as the cache will read
    const std::string read =
        ClipCut{.clip_frames = 0, .max_side = o.train.read_max_side, .fps = o.train.read_fps}
            .reading();
    if (!data.empty() && !read.empty())
      std::printf("vae train: videos read with %s, then cut into windows\n", read.c_str());
    if (!held_out.empty())
      std::printf("vae train: held-out PSNR on the videos of %s\n", held_out.c_str());
  }
  if (reports && !o.train.init.empty())  // (a folder holding a checkpoint resumes it instead)
    std::printf("vae train: fine-tuning %s from %s\n",
                o.train.freeze_encoder ? "the decoder alone" : "every weight",
                o.train.init.c_str());
  std::fflush(stdout);
  std::optional<Progress> bar;
  if (reports) bar.emplace("vae train", o.train.steps, "step");
  double smoothed = -1;
  const VaeTrainResult r = train_vae(o, [&](const VaeTrainStatus& s) {
    smoothed = smoothed < 0 ? s.psnr : 0.95 * smoothed + 0.05 * s.psnr;
    char info[160];
    std::snprintf(info, sizeof info, "loss %.5f psnr %.2f dB %.2f clip/s %.1f frame/s%s", s.loss,
                  smoothed, s.clips_per_s, s.frames_per_s, s.val_psnr > 0 ? " (held-out " : "");
    std::string text = info;
    if (s.val_psnr > 0) {
      char v[32];
      std::snprintf(v, sizeof v, "%.2f dB)", s.val_psnr);
      text += v;
    }
    bar->update(s.step, text);
  });
  if (!reports) return 0;
  if (r.finished && r.start_step >= o.train.steps) {
    std::printf(
        "\nvae train: %s was already at step %lld, where %lld steps were asked; nothing "
        "was trained (a larger --steps goes on from it)\n",
        out.c_str(), static_cast<long long>(r.start_step), static_cast<long long>(o.train.steps));
  } else if (r.finished) {
    bar->finish();
    if (r.start_step > 0)
      std::printf("vae train: resumed at step %lld\n", static_cast<long long>(r.start_step));
    char psnr[48] = "";  // none when the run had already finished (nothing was evaluated)
    if (r.last_val_psnr >= 0)
      std::snprintf(psnr, sizeof psnr, "; held-out PSNR %.2f dB", r.last_val_psnr);
    std::printf(
        "vae train: done at step %lld%s; weights in %s/vae.safetensors, log in %s/log.csv, "
        "curve in %s/loss.svg\n",
        static_cast<long long>(r.end_step), psnr, out.c_str(), out.c_str(), out.c_str());
  } else {
    std::printf(
        "\nvae train: stopped at step %lld (checkpoint saved); run the same command to "
        "resume\n",
        static_cast<long long>(r.end_step));
  }
  return r.finished ? 0 : stop_status();
}

// --tile PX and --tile-overlap PX (default: a quarter of a tile, in whole latent cells), read
// before the positional arguments and checked once the autoencoder is known.
struct TileArgs {
  int64_t tile;
  std::optional<int64_t> overlap;
  bool given;  // --tile was on the command line
};
TileArgs tile_args(Args& args) {
  const bool given = args.has("--tile");
  TileArgs a{args.integer("--tile", kTilePixels), std::nullopt, given};
  if (args.has("--tile-overlap")) a.overlap = args.integer("--tile-overlap", 0);
  return a;
}
Tiling tiling_option(const TileArgs& a, const Vae& vae) {
  const int64_t sf = vae.config().spatial_factor;
  const Tiling t{.tile = a.tile, .overlap = a.overlap.value_or(a.tile / 4 / sf * sf)};
  try {
    check_tiling(t, sf, "--tile", "--tile-overlap");
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  return t;
}

// --refine N, --refine-lr LR and --refine-chunk L, checked.
RefineOptions refine_options(Args& args) {
  const bool chunk_given = args.has("--refine-chunk"), lr_given = args.has("--refine-lr");
  const RefineOptions o{.steps = args.integer("--refine", 0),
                        .lr = static_cast<float>(args.number("--refine-lr", kRefineLr)),
                        .chunk_latents = args.integer("--refine-chunk", kRefineWholeOrChunks)};
  if (chunk_given && o.steps == 0)
    throw UsageError("--refine-chunk cuts a refinement in chunks: give --refine N with it");
  if (lr_given && o.steps == 0)
    throw UsageError("--refine-lr sets the rate of a refinement: give --refine N with it");
  if (o.chunk_latents < 0 && o.chunk_latents != kRefineWholeOrChunks)
    throw UsageError("--refine-chunk " + std::to_string(o.chunk_latents) +
                     ": give the latent frames to refine at a time, 1 or more, or 0 for the "
                     "whole clip at once (default: the whole clip when it fits in memory)");
  if (o.steps < 0)
    throw UsageError("--refine " + std::to_string(o.steps) +
                     ": give the number of refinement steps, 0 (none) or more");
  if (!(std::isfinite(o.lr) && o.lr > 0.0f)) {
    char msg[96];
    std::snprintf(msg, sizeof msg, "--refine-lr %g: give a rate above 0 (default %g)", o.lr,
                  kRefineLr);
    throw UsageError(msg);
  }
  return o;
}

// ", refined 100 steps (chunks of 2 latent frames, with the next in view)", or nothing.
std::string refine_summary(const LatentFile& f) {
  if (f.refine_steps == 0) return "";
  const RefinePlan& p = f.refine_plan;
  const std::string how = p.chunk_latents == 0
                              ? "the whole clip at once"
                              : "chunks of " + std::to_string(p.chunk_latents) + " latent frame" +
                                    (p.chunk_latents == 1 ? "" : "s") +
                                    (p.lookahead ? ", with the next in view" : ", each alone");
  return ", refined " + std::to_string(f.refine_steps) + " steps (" + how + ")";
}

// The bar of a count whose total comes with the first report (frames, over every tile): made
// then, and finished when the count reaches it. Ctrl-C stops the job at the next report, with an
// Error saying how far it came and `stopped` (what was, or was not, written).
class CountBar {
 public:
  CountBar(std::string label, std::string unit, std::string stopped)
      : label_(std::move(label)), unit_(std::move(unit)), stopped_(std::move(stopped)) {}
  void operator()(int64_t done, int64_t total) {
    if (!bar_) bar_.emplace(label_, total, unit_);
    bar_->update(std::min(done, total));
    if (done >= total) bar_->finish();  // before a refinement's bar
    if (stop_->load())
      throw Error(label_ + ": interrupted after " + std::to_string(done) + " " + unit_ + "s; " +
                  stopped_);
  }
  void finish() {
    if (bar_) bar_->finish();
  }

 private:
  std::string label_, unit_, stopped_;
  const std::atomic<bool>* stop_ = stop_on_signals();
  std::optional<Progress> bar_;
};

// The bar of a refinement: its decodes (steps times chunks), the last one's PSNR and the best of
// its chunk's so far, which is the one kept (a large first step can decode worse than the
// encoder's latent); Ctrl-C stops it, as it stops the encoding before it.
class RefineBar {
 public:
  explicit RefineBar(int64_t steps) : steps_(steps) {}
  void operator()(int64_t decode, int64_t decodes, double mse) {
    if (stop_->load())
      throw Error("vae encode: interrupted at refinement step " + std::to_string(decode) + " of " +
                  std::to_string(decodes) + "; no latent file was written");
    if (!bar_) {
      const int64_t chunks = decodes / steps_;
      bar_.emplace(chunks == 1 ? std::string("vae encode: refining")
                               : "vae encode: refining " + std::to_string(chunks) + " chunks",
                   decodes, "step");
    }
    if ((decode - 1) % steps_ == 0) best_ = mse;  // a chunk's first decode: the encoder's latent
    best_ = std::min(best_, mse);
    char info[64];
    std::snprintf(info, sizeof info, "psnr %.2f dB, best %.2f dB", psnr_of_mse(mse),
                  psnr_of_mse(best_));
    bar_->update(decode, info);
  }
  void finish() {
    if (bar_) bar_->finish();
  }

 private:
  int64_t steps_;
  double best_ = 0;  // the smallest squared error of the chunk's decodes so far
  const std::atomic<bool>* stop_ = stop_on_signals();
  std::optional<Progress> bar_;
};

// One pass over the whole video (--chunk 0), which needs it in memory: a video too long for this
// machine is refused before it is read, rather than failing for memory part way.
LatentFile encode_whole(const Vae& vae, const std::string& in, const VideoInfo& video,
                        const EncodeOptions& o) {
  // Its frames as read (3 bytes a pixel) and as the autoencoder's input (3 floats a pixel).
  const double bytes =
      15.0 * static_cast<double>(video.frames) * static_cast<double>(video.width * video.height);
  const double budget = static_cast<double>(memory_budget_bytes());
  if (bytes > budget) {
    char msg[512];
    std::snprintf(msg, sizeof msg,
                  "%s: --chunk 0 holds the whole video in memory, and its %lld frames of "
                  "%lldx%lld need at least %.1f GB, more than the %.1f GB one job may take here; "
                  "encode without it (a chunk at a time), or a shorter clip of the video",
                  in.c_str(), static_cast<long long>(video.frames),
                  static_cast<long long>(video.width), static_cast<long long>(video.height),
                  bytes / 1e9, budget / 1e9);
    throw Error(msg);
  }
  const bool tiled = tiles_frames(o.tiling, video.height, video.width);
  CountBar encoding("vae encode", tiled ? "tile frame" : "frame", "no latent file was written");
  RefineBar refining(o.refine.steps);
  LatentFile f = encode_latent(vae, read_video(in), in, o, std::ref(refining), std::ref(encoding));
  encoding.finish();
  refining.finish();
  return f;
}

// A chunk at a time from the file: memory stays that of one chunk however long the video is; a
// refinement then reads the file again a window at a time where the whole clip's does not fit.
LatentFile encode_streamed(const Vae& vae, const std::string& in, const EncodeOptions& o) {
  CountBar encoding("vae encode", "frame", "no latent file was written");
  RefineBar refining(o.refine.steps);
  const auto encoded = [&](int64_t frames, int64_t header_frames) {
    encoding(frames, std::max<int64_t>(header_frames, 1));
  };
  LatentFile f = encode_video_file(vae, in, o, encoded, std::ref(refining));
  encoding.finish();
  refining.finish();
  return f;
}

int encode(Args& args) {
  const std::string out = output_path(args);
  const std::string model = args.path("--model");
  const bool pad = args.flag("--pad");
  const bool chunk_given = args.has("--chunk");
  const int64_t chunk = args.integer("--chunk", -1);  // -1: four latent frames' worth
  if (chunk_given && chunk < 0)
    throw UsageError("--chunk " + std::to_string(chunk) +
                     ": give the frames to encode at a time after the first, a multiple of 4 "
                     "for the default model (default 16), or 0 for one pass");
  const RefineOptions refine = refine_options(args);
  const TileArgs tile = tile_args(args);
  const std::string in = single_input(args, "input video");
  args.finish();
  const std::string model_path = find_model(model);
  const auto vae = load_vae(model_path);
  const Tiling tiling = tiling_option(tile, *vae);
  if (out.empty()) throw UsageError("give the latent file to write with -o LATENT.safetensors");
  check_output_extension(out, ".safetensors", "a latent");
  check_output_place(out);  // before the encoding, which a refinement makes long
  check_replaces_only(out, {"latent"}, "vae encode");
  const VideoInfo video = probe_video(in);
  if (video.alpha)
    std::printf(
        "vae encode: note: %s has transparency, which is left out (the colours are read "
        "as they are)\n",
        in.c_str());
  const EncodeOptions options{
      .pad = pad, .chunk_frames = chunk, .tiling = tiling, .refine = refine};
  LatentFile f =
      chunk == 0 ? encode_whole(*vae, in, video, options) : encode_streamed(*vae, in, options);
  f.source = in, f.vae_encoder = vae->encoder_fingerprint();
  f.vae_encoder_bf16 = vae->encoder_fingerprint_at_bf16();
  f.vae = std::filesystem::absolute(model_path).lexically_normal().string();  // decode finds it
  save_latent(out, f);
  std::printf("vae encode: %s (%lld frames, %lldx%lld) -> %s latent %s%s\n", in.c_str(),
              static_cast<long long>(f.frames), static_cast<long long>(f.width),
              static_cast<long long>(f.height), out.c_str(), f.latent.shape().str().c_str(),
              refine_summary(f).c_str());
  return 0;
}

// Decodes f into `writer` a chunk at a time, so that memory does not grow with the length; a
// short video of tiled frames tile by tile instead (stream_in_chunks).
void decode_into(const Vae& vae, const LatentFile& f, int64_t chunk, const Tiling& tiling,
                 VideoWriter& writer) {
  const int64_t sf = vae.config().spatial_factor;
  if (!stream_in_chunks(f.frames, f.latent.size(2) * sf, f.latent.size(3) * sf, tiling)) {
    CountBar decoding("vae decode", "tile frame", "nothing was written");  // every tile's frames
    const Tensor x =
        decode_tiled(vae, f.latent.unsqueeze(0).contiguous(), chunk, tiling, std::ref(decoding));
    decoding.finish();
    writer.write(crop_video(tensor_to_video(x, f.fps), f.frames, f.height, f.width));
    return;
  }
  DecodeStream stream(vae, f.latent.size(2), f.latent.size(3), tiling);
  const int64_t n = f.latent.size(1);
  Progress bar("vae decode", n, "latent frame");
  const std::atomic<bool>* stop = stop_on_signals();
  for (int64_t b = 0; b < n;) {
    if (stop->load())  // the unfinished file is removed; what was at the path stays
      throw Error("vae decode: interrupted after " + std::to_string(b) + " of " +
                  std::to_string(n) + " latent frames; nothing was written");
    const int64_t e = Vae::chunk_end(b, n, chunk);
    const Video v = tensor_to_video(stream.next(f.latent.slice(1, b, e).unsqueeze(0)), f.fps);
    const int64_t keep = std::min(v.frames, f.frames - writer.frames());  // padding comes last
    if (keep > 0) writer.write(crop_video(v, keep, f.height, f.width));
    bar.update(b = e);
  }
  bar.finish();
}

// A refined latent was refined through the decoder on whole frames (refine.h), and decodes
// closer to its video so than in tiles (docs/VAE.md); the refinement held far more memory than
// decoding whole frames a chunk at a time does, so unless --tile asks otherwise it is decoded
// whole, and the user is told.
Tiling refined_whole(const LatentFile& f, const TileArgs& asked, const Tiling& tiling,
                     const std::string& in, const Vae& vae) {
  const int64_t sf = vae.config().spatial_factor;
  if (f.refine_steps == 0 || asked.given ||
      !tiles_frames(tiling, f.latent.size(2) * sf, f.latent.size(3) * sf))
    return tiling;
  std::fprintf(stderr,
               "vae decode: note: %s was refined through whole frames, so it is decoded whole, "
               "not in tiles of %lld (--tile %lld decodes it in tiles, in less memory and less "
               "close to the video)\n",
               in.c_str(), static_cast<long long>(tiling.tile),
               static_cast<long long>(tiling.tile));
  return Tiling{.tile = 0, .overlap = 0};
}

// The autoencoder that made f (its file f.vae), loaded, where it is still there with that
// encoder; else null.
std::unique_ptr<Vae> recorded_encoder(const LatentFile& f) {
  std::error_code ec;
  if (f.vae.empty() || !std::filesystem::is_regular_file(f.vae, ec)) return nullptr;
  try {
    auto vae = load_vae(f.vae);
    if (vae->config() == f.config &&
        vae->encoder_match(f.vae_encoder, f.vae_encoder_bf16) == Vae::Match::kYes)
      return vae;
  } catch (const Error&) {  // replaced since by a file that is not an autoencoder
  }
  return nullptr;
}

// Latents of another encoder are another space: its decoder draws something else from them,
// with no error of its own, so they are refused (or noted, where the file cannot tell).
void check_encoder(const LatentFile& f, const Vae& vae, const std::string& in,
                   const std::string& model_path) {
  const Vae::Match same = vae.encoder_match(f.vae_encoder, f.vae_encoder_bf16);
  if (same == Vae::Match::kYes) return;
  const std::string made_by =
      f.vae.empty() ? "the autoencoder that encoded it"
                    : f.vae + (recorded_encoder(f) ? "" : " (no longer there as it was)");
  CUBIST_CHECK(same != Vae::Match::kNo, in, ": encoded by another encoder (weights ", f.vae_encoder,
               ") than ", model_path, "'s (", vae.encoder_fingerprint(),
               "); a latent decodes only with the autoencoder whose encoder made it, or a "
               "decoder fine-tuned alone from it: decode with --model ",
               made_by);
  std::fprintf(stderr,
               "vae decode: note: %s was encoded by other encoder weights (%s) than %s's (%s); "
               "unless %s holds the same weights at another precision, the video will be wrong: "
               "decode with --model %s\n",
               in.c_str(), f.vae_encoder.c_str(), model_path.c_str(),
               vae.encoder_fingerprint().c_str(), model_path.c_str(), made_by.c_str());
}

// The latent file to decode; a video or image given in its place is named as one.
LatentFile read_latent_input(const std::string& in) {
  try {
    return load_latent(in);
  } catch (const Error&) {
    bool media = false;
    try {
      media = probe_video(in).frames > 0;
    } catch (const Error&) {  // neither: the latent file's own error says what is wrong
    }
    if (!media) throw;
    throw UsageError(in +
                     " is a video or image, not a latent file: decode takes the .safetensors "
                     "that `cubist vae encode` writes (`cubist vae encode " +
                     in + " -o LATENT.safetensors` makes one)");
  }
}

int decode(Args& args) {
  const std::string out = output_path(args);
  const std::string model = args.path("--model");
  const int64_t chunk = args.integer("--chunk", 1);
  if (chunk < 1)
    throw UsageError("--chunk " + std::to_string(chunk) +
                     ": give the latent frames to decode at a time, 1 or more (default 1)");
  const TileArgs tile = tile_args(args);
  const std::string in = single_input(args, "latent file");
  args.finish();
  if (out.empty()) throw UsageError("give the video to write with -o OUT.mp4");
  const LatentFile f = read_latent_input(in);
  // Without --model, the autoencoder that encoded the latent, where it is still there.
  std::unique_ptr<Vae> vae = model.empty() ? recorded_encoder(f) : nullptr;
  const std::string model_path = vae ? f.vae : find_model(model);
  if (vae)
    std::printf("vae decode: decoding with %s, the autoencoder that encoded it\n",
                model_path.c_str());
  else
    vae = load_vae(model_path);
  const Tiling tiling = tiling_option(tile, *vae);
  CUBIST_CHECK(f.config == vae->config(), in, ": made by another autoencoder (",
               f.config.to_json().dump(), ") than ", model_path, " (",
               vae->config().to_json().dump(), ")");
  check_encoder(f, *vae, in, model_path);
  if (!f.refined_for.empty()) {
    const std::string decoder = vae->decoder_fingerprint();  // a hash of every decoder weight
    if (f.refined_for != decoder)
      std::fprintf(stderr,
                   "vae decode: note: %s was refined for another decoder (%s, this one is %s); "
                   "it decodes, but closer to the video only with the decoder it was refined "
                   "for\n",
                   in.c_str(), f.refined_for.c_str(), decoder.c_str());
  }
  VideoWriter writer(out, f.height, f.width, f.fps);
  decode_into(*vae, f, chunk, refined_whole(f, tile, tiling, in, *vae), writer);
  writer.close();
  std::printf("vae decode: %s -> %s (%lld frames, %lldx%lld)\n", in.c_str(), out.c_str(),
              static_cast<long long>(f.frames), static_cast<long long>(f.width),
              static_cast<long long>(f.height));
  return 0;
}

int cache(Args& args) {
  const std::string data = args.required("--data");
  const std::string out = args.required("--out");
  const std::string model = args.path("--model");
  CacheOptions o;
  o.pad = args.flag("--pad");
  o.cut.clip_frames = args.integer("--clip-frames", 0);
  o.cut.max_side = args.integer("--max-side", 0);
  o.cut.fps = args.number("--fps", 0.0);
  args.finish();
  const std::string model_path = find_model(model);
  const auto vae = load_vae(model_path);
  CacheBar bar("vae cache");
  const auto on_video = [&](const CacheProgress& p) {
    if (!p.error.empty())
      std::fprintf(stderr, "\nvae cache: %s: %s\n", p.path.c_str(), p.error.c_str());
    if (p.handled && !p.note.empty())
      std::fprintf(stderr, "\nvae cache: %s: %s\n", p.path.c_str(), p.note.c_str());
    bar.report(p);
  };
  const CacheResult r = cache_latents(*vae, model_path, data, out, o, on_video, stop_on_signals());
  if (r.stopped) {
    std::printf(
        "\nvae cache: stopped with %lld videos cached in %s; run the same command to "
        "resume\n",
        static_cast<long long>(r.cached), r.manifest.c_str());
    return stop_status();
  }
  bar.finish();
  std::printf("vae cache: %lld of %lld videos", static_cast<long long>(r.cached),
              static_cast<long long>(r.total));
  if (o.cut.cuts()) std::printf(", cut into %lld clips", static_cast<long long>(r.clips));
  std::printf(", in %s%s\n", r.manifest.c_str(), r.failed ? " (the others failed, see above)" : "");
  return r.failed ? 1 : 0;
}

int export_weights(Args& args) {
  const std::string out = output_path(args);
  const bool bf16 = args.flag("--bf16");
  const std::string in = single_input(args, "checkpoint");
  args.finish();
  if (out.empty()) throw UsageError("give the file to write with -o OUT.safetensors");
  check_output_extension(out, ".safetensors", "an autoencoder's weights file");
  check_output_place(out);
  check_replaces_only(out, {"autoencoder"}, "vae export", in);
  const SafeTensors file = SafeTensors::open(in);
  const auto vae = load_vae(in);
  std::map<std::string, std::string> meta = file.metadata();
  meta["exported_from"] = in;
  save_safetensors(out, vae->state_dict(), meta,
                   bf16 ? std::optional<FileDType>(FileDType::BF16) : std::nullopt);
  std::printf("vae export: %s -> %s (%lld parameters%s)\n", in.c_str(), out.c_str(),
              static_cast<long long>(vae->num_parameters()), bf16 ? ", bf16" : "");
  return 0;
}

}  // namespace

int cmd_vae(int argc, char** argv) {
  if (argc < 1 || std::string(argv[0]) == "--help" || std::string(argv[0]) == "-h") {
    std::puts(kUsage);
    return argc < 1 ? 2 : 0;
  }
  const std::string sub = argv[0];
  Args args(argc - 1, argv + 1);
  if (args.flag("--help")) {
    std::puts(kUsage);
    return 0;
  }
  if (sub == "train") return train(args);
  if (sub == "encode") return encode(args);
  if (sub == "decode") return decode(args);
  if (sub == "cache") return cache(args);
  if (sub == "export") return export_weights(args);
  throw UsageError("unknown vae command '" + sub + "' (train, encode, decode, cache, export)");
}

}  // namespace cubist::cli
