// `cubist vae`: the video autoencoder's jobs.
//   train   train on Shapes World (generated in memory) or a manifest; resumes from DIR
//   encode  a video or image -> a latent file
//   decode  a latent file -> a video
//   cache   every clip of a manifest -> latent files and a latent manifest, for the transformer
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "core/parallel.h"
#include "data/manifest.h"
#include "io/safetensors.h"
#include "models/vae/latent_io.h"
#include "models/vae/vae.h"
#include "train/vae_trainer.h"

namespace cubist::cli {

namespace {

namespace fs = std::filesystem;

const char* kUsage =
    "usage: cubist vae train --out DIR [--config FILE] [--data MANIFEST] [--steps N]\n"
    "       cubist vae encode IN -o LATENT.safetensors [--model VAE] [--pad] [--chunk F]\n"
    "       cubist vae decode LATENT -o OUT.mp4 [--model VAE] [--chunk L]\n"
    "       cubist vae cache --data MANIFEST --out DIR [--model VAE] [--pad]\n"
    "       cubist vae export VAE -o OUT.safetensors [--bf16]\n"
    "\n"
    "train   Trains the causal video autoencoder. Without --data it trains on Shapes World clips\n"
    "        generated in memory; --config FILE holds {\"model\": {...}, \"train\": {...}}\n"
    "        (configs/vae/shapes.json is the default, built in). DIR receives "
    "checkpoint.safetensors\n"
    "        (to resume), vae.safetensors (the weights), log.csv and loss.svg. Running the same\n"
    "        command again resumes from the last checkpoint; Ctrl-C saves one first.\n"
    "        --steps N overrides the config's step count (to extend a finished run).\n"
    "encode  Encodes a video (any format FFmpeg reads, a folder of PNG frames, or an image) to\n"
    "        the posterior mean. The autoencoder takes 1 + 4k frames of sides that are multiples\n"
    "        of 8 (for the default model); other videos are refused unless --pad is given, which\n"
    "        repeats the last frame and the edge pixels and records the true size so that decode\n"
    "        crops back. --chunk F encodes F frames at a time after the first (a multiple of 4;\n"
    "        default 16; 0 = one pass).\n"
    "decode  Decodes a latent file to a video (.mp4, .webm, .gif, or a folder of PNG frames),\n"
    "        L latent frames at a time (default 1), so memory does not grow with the length.\n"
    "cache   Encodes every clip of a JSONL manifest into DIR/latents/NNNNNN.safetensors and\n"
    "        writes DIR/latents.jsonl (latent, path, caption, frames, width, height); clips\n"
    "        already cached are skipped, so an interrupted cache resumes.\n"
    "export  Writes the weights of a checkpoint (and its metadata) alone, in bf16 with --bf16:\n"
    "        how the bundled model was made from a training run's vae.safetensors.\n"
    "--model VAE  a vae.safetensors from `cubist vae train`; default: $CUBIST_VAE, else the\n"
    "        bundled models/vae/shapes.safetensors (looked for in the working directory and\n"
    "        beside the executable).";

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

std::string find_model(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("CUBIST_VAE")) return env;
  std::vector<fs::path> tried = {fs::path("models/vae/shapes.safetensors")};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    tried.push_back(exe.parent_path() / "../models/vae/shapes.safetensors");
    tried.push_back(exe.parent_path() / "models/vae/shapes.safetensors");
  }
  for (const fs::path& p : tried)
    if (fs::exists(p)) return p.lexically_normal().string();
  std::string where;
  for (const fs::path& p : tried) where += "\n  " + p.lexically_normal().string();
  throw UsageError(
      "no autoencoder given: pass --model VAE, set CUBIST_VAE, or place the bundled "
      "model at one of:" +
      where);
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

// Encodes one video; refuses (or, with pad, pads) shapes the model cannot take.
LatentFile encode_video(const Vae& vae, const Video& v, bool pad, int64_t chunk,
                        const std::string& what) {
  const VaeConfig& c = vae.config();
  if (!pad) {
    try {
      c.check_video_shape(v.frames, v.height, v.width, what);
    } catch (const Error& e) {
      throw Error(std::string(e.what()) +
                  "; pass --pad to repeat the last frame and edge pixels up to the next shape "
                  "it takes (decode crops them off again)");
    }
  }
  LatentFile f;
  f.config = c;
  f.frames = v.frames, f.height = v.height, f.width = v.width, f.fps = v.fps;
  const Tensor z = vae.encode_mean(video_to_tensor(pad_video(v, c)),
                                   chunk < 0 ? 4 * c.temporal_factor() : chunk);
  f.latent = z.squeeze(0).contiguous();
  return f;
}

int train(Args& args) {
  const std::string out = args.required("--out");
  const std::string config = args.str("--config", "");
  const std::string data = args.str("--data", "");
  const int64_t steps = args.integer("--steps", 0);
  args.finish();
  VaeTrainOptions o;
  o.out_dir = out;
  o.manifest = data;
  if (!config.empty()) {
    o.model = VaeConfig::from_file(config);
    std::ifstream in(config);
    o.train = VaeTrainConfig::from_json(nlohmann::json::parse(in));
  }
  if (steps > 0) o.train.steps = steps;
  o.stop = &g_stop;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  std::printf("vae train: %s autoencoder, %s; %lld steps of %lld clip(s) into %s\n",
              o.model.summary().c_str(), data.empty() ? "Shapes World in memory" : data.c_str(),
              static_cast<long long>(o.train.steps), static_cast<long long>(o.train.batch),
              out.c_str());
  std::fflush(stdout);
  Progress bar("vae train", o.train.steps, "step");
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
    bar.update(s.step, text);
  });
  if (r.finished) {
    bar.finish();
    std::printf(
        "vae train: done at step %lld; held-out PSNR %.2f dB; weights in %s/vae.safetensors"
        ", log in %s/log.csv, curve in %s/loss.svg\n",
        static_cast<long long>(r.end_step), r.last_val_psnr, out.c_str(), out.c_str(), out.c_str());
  } else {
    std::printf(
        "\nvae train: stopped at step %lld (checkpoint saved); run the same command to "
        "resume\n",
        static_cast<long long>(r.end_step));
  }
  return 0;
}

int encode(Args& args) {
  const std::string out = output_path(args);
  const std::string model = args.str("--model", "");
  const bool pad = args.flag("--pad");
  const int64_t chunk = args.integer("--chunk", -1);  // -1: four latent frames' worth
  const std::string in = single_input(args, "input video");
  args.finish();
  if (out.empty()) throw UsageError("give the latent file to write with -o LATENT.safetensors");
  const auto vae = load_vae(find_model(model));
  LatentFile f = encode_video(*vae, read_video(in), pad, chunk, in);
  f.source = in;
  save_latent(out, f);
  std::printf("vae encode: %s (%lld frames, %lldx%lld) -> %s latent %s\n", in.c_str(),
              static_cast<long long>(f.frames), static_cast<long long>(f.width),
              static_cast<long long>(f.height), out.c_str(), f.latent.shape().str().c_str());
  return 0;
}

int decode(Args& args) {
  const std::string out = output_path(args);
  const std::string model = args.str("--model", "");
  const int64_t chunk = args.integer("--chunk", 1);
  const std::string in = single_input(args, "latent file");
  args.finish();
  if (out.empty()) throw UsageError("give the video to write with -o OUT.mp4");
  const std::string model_path = find_model(model);
  const auto vae = load_vae(model_path);
  const LatentFile f = load_latent(in);
  CUBIST_CHECK(f.config == vae->config(), in, ": made by another autoencoder (",
               f.config.to_json().dump(), ") than ", model_path, " (",
               vae->config().to_json().dump(), ")");
  const Tensor x = vae->decode_chunked(f.latent.unsqueeze(0).contiguous(), chunk);
  write_video(out, crop_video(tensor_to_video(x, f.fps), f.frames, f.height, f.width));
  std::printf("vae decode: %s -> %s (%lld frames, %lldx%lld)\n", in.c_str(), out.c_str(),
              static_cast<long long>(f.frames), static_cast<long long>(f.width),
              static_cast<long long>(f.height));
  return 0;
}

int cache(Args& args) {
  const std::string data = args.required("--data");
  const std::string out = args.required("--out");
  const std::string model = args.str("--model", "");
  const bool pad = args.flag("--pad");
  args.finish();
  const auto vae = load_vae(find_model(model));
  const std::vector<ManifestEntry> entries = read_manifest(data);
  fs::create_directories(fs::path(out) / "latents");
  std::vector<nlohmann::ordered_json> lines;
  Progress bar("vae cache", static_cast<int64_t>(entries.size()), "clip");
  int64_t failed = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const ManifestEntry& e = entries[i];
    char name[32];
    std::snprintf(name, sizeof name, "latents/%06zu.safetensors", i);
    const std::string path = (fs::path(out) / name).string();
    try {
      LatentFile f;
      if (fs::exists(path)) {
        f = load_latent(path);
        CUBIST_CHECK(f.config == vae->config() && f.source == e.path, path,
                     ": a cached latent of another model or clip; delete it to encode again");
      } else {
        f = encode_video(*vae, read_video(e.path), pad, -1, e.path);
        f.source = e.path, f.caption = e.caption;
        save_latent(path, f);
      }
      nlohmann::ordered_json j;
      j["latent"] = name;
      j["path"] = e.path;
      j["caption"] = e.caption;
      j["frames"] = f.frames;
      j["width"] = f.width;
      j["height"] = f.height;
      j["fps"] = f.fps;
      j["latent_shape"] = f.latent.shape().vec();
      lines.push_back(j);
    } catch (const Error& err) {
      ++failed;
      std::fprintf(stderr, "\nvae cache: %s: %s\n", e.path.c_str(), err.what());
    }
    bar.update(static_cast<int64_t>(i + 1));
  }
  bar.finish();
  const std::string manifest = (fs::path(out) / "latents.jsonl").string();
  {
    std::ofstream m(manifest + ".tmp");
    for (const auto& j : lines) m << j.dump() << "\n";
  }
  fs::rename(manifest + ".tmp", manifest);
  std::printf("vae cache: %zu of %zu clips in %s%s\n", lines.size(), entries.size(),
              manifest.c_str(), failed ? " (the others failed, see above)" : "");
  return failed ? 1 : 0;
}

int export_weights(Args& args) {
  const std::string out = output_path(args);
  const bool bf16 = args.flag("--bf16");
  const std::string in = single_input(args, "checkpoint");
  args.finish();
  if (out.empty()) throw UsageError("give the file to write with -o OUT.safetensors");
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
