// Tests of the autoencoder's training loop (src/train/vae_trainer): an interrupted and resumed run
// continues exactly the uninterrupted run's loss curve and weights, the outputs (checkpoint,
// weights, log, curve) are there, a decoder fine-tune leaves the encoder alone, and bad configs
// or a folder of another model are refused.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/parallel.h"
#include "io/video.h"
#include "model_testing.h"
#include "models/vae/vae.h"
#include "testing.h"
#include "thread_group.h"
#include "train/metrics_log.h"
#include "train/vae_trainer.h"

namespace cubist {
namespace {

namespace fs = std::filesystem;

class OneThread {  // tiny layers: OpenMP barriers would cost more than they save
 public:
  OneThread() : threads_(num_threads()) { set_num_threads(1); }
  ~OneThread() { set_num_threads(threads_); }

 private:
  int threads_;
};

VaeTrainOptions tiny_run(const fs::path& dir) {
  VaeTrainOptions o;
  o.out_dir = dir.string();
  o.model = VaeConfig::from_file(std::string(CUBIST_SOURCE_DIR) + "/configs/vae/tiny.json");
  o.train.steps = 4;
  o.train.warmup = 1;
  o.train.lr = 2e-3f;
  o.train.sizes = "32x32";
  o.train.frames = "1,5";
  o.train.checkpoint_every = 100;
  o.train.eval_every = 2;
  o.train.eval_clips = 1;
  return o;
}

fs::path temp_dir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("cubist_vae_train_" + std::to_string(getpid()) + "_" + name);
  fs::remove_all(d);
  return d;
}

TEST(VaeTrainer, ResumedRunContinuesTheSameCurve) {
  OneThread one;
  const fs::path a = temp_dir("a"), b = temp_dir("b");
  std::vector<int64_t> steps_seen;
  const VaeTrainResult full = train_vae(tiny_run(a), [&](const VaeTrainStatus& s) {
    steps_seen.push_back(s.step);
    EXPECT_GT(s.clips_per_s, 0);
    EXPECT_TRUE(std::isfinite(s.loss));
  });
  EXPECT_TRUE(full.finished);
  EXPECT_EQ(steps_seen, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_GT(full.last_val_psnr, 0);

  VaeTrainOptions first = tiny_run(b);
  first.stop_after = 3;
  const VaeTrainResult part = train_vae(first);
  EXPECT_FALSE(part.finished);
  EXPECT_EQ(part.end_step, 3);
  const VaeTrainResult rest = train_vae(tiny_run(b));
  EXPECT_EQ(rest.start_step, 3);
  EXPECT_TRUE(rest.finished);

  for (const char* column : {"step", "loss", "kl", "val_psnr"})
    EXPECT_EQ(MetricsLog::read_column((b / "log.csv").string(), column),
              MetricsLog::read_column((a / "log.csv").string(), column))
        << column;
  const SafeTensors wa = SafeTensors::open((a / "vae.safetensors").string());
  const SafeTensors wb = SafeTensors::open((b / "vae.safetensors").string());
  for (const std::string& name : wa.names())
    testing::expect_close(wb.get(name), wa.get(name), 0, 0, name);
  EXPECT_EQ(wb.metadata().at("step"), "4");
  EXPECT_TRUE(fs::exists(b / "loss.svg"));
  EXPECT_TRUE(fs::exists(b / "checkpoint.safetensors"));
  EXPECT_EQ(load_vae((b / "vae.safetensors").string())->config(), tiny_run(b).model);
  fs::remove_all(a);
  fs::remove_all(b);
}

// Three processes (threads here) sharing batches of 4 clips take the steps one process takes:
// the same loss and weights, up to the order of float sums; only rank 0 writes and calls back.
// One step: Adam's first steps move each weight by about lr times the sign of its gradient, so
// a rounding difference on a gradient near zero grows to a visible one by the second step
// (1e-4 of the loss here), while a wrong sum shows at once.
TEST(VaeTrainer, ClipSourcesKnowAClipsPixelsWithoutMakingIt) {
  const auto shapes = shapes_clip_source(3, "32x32,64x32,32x64", "1,5,9");
  for (uint64_t i = 0; i < 20; ++i) {
    const Video v = shapes->clip(i);
    EXPECT_EQ(shapes->pixels(i), static_cast<double>(v.frames * v.height * v.width)) << i;
  }
  fs::remove_all(temp_dir("manifest"));
}

// Whether `clip` is a window of `v`: some start frame and top-left corner from which it is v's
// pixels exactly.
bool is_window_of(const Video& clip, const Video& v) {
  for (int64_t t0 = 0; t0 + clip.frames <= v.frames; ++t0)
    for (int64_t y0 = 0; y0 + clip.height <= v.height; ++y0)
      for (int64_t x0 = 0; x0 + clip.width <= v.width; ++x0) {
        bool same = true;
        for (int64_t f = 0; f < clip.frames && same; ++f)
          for (int64_t y = 0; y < clip.height && same; ++y)
            same = std::equal(clip.pixel(f, y, 0), clip.pixel(f, y, 0) + clip.width * 3,
                              v.pixel(t0 + f, y0 + y, x0));
        if (same) return true;
      }
  return false;
}

// A manifest's clips are windows of its videos, read up to the window's end when the manifest
// gives the video's extent, from the header when it does not, and whole when the manifest says
// more frames than the video holds; the pixels are known from the manifest without reading.
TEST(VaeTrainer, ManifestClipsAreWindowsOfTheirVideos) {
  const fs::path dir = temp_dir("manifest");
  fs::create_directories(dir);
  std::ofstream m(dir / "manifest.jsonl");
  std::map<std::string, Video> videos;
  // name, frames, width, height, the frames the manifest claims (0: no extent in the manifest)
  for (const auto& [name, frames, w, h, claimed] : {std::tuple{"a", 23, 40, 24, 23},
                                                    {"b", 3, 16, 48, 3},
                                                    {"c", 11, 32, 32, 0},
                                                    {"d", 6, 32, 16, 40}}) {
    const Video v = testing::smooth_video(frames, h, w, 8.0);
    const std::string file = std::string(name) + ".mp4";
    write_video((dir / file).string(), v);
    videos[file] = read_video((dir / file).string());
    nlohmann::json j{{"path", file}};
    if (claimed > 0) j.update({{"frames", claimed}, {"width", w}, {"height", h}});
    m << j.dump() << "\n";
  }
  m.close();
  VaeTrainConfig tc;
  tc.frames = "1,5,9", tc.max_side = 32;
  const auto manifest =
      manifest_clip_source((dir / "manifest.jsonl").string(), testing::tiny_vae_config(), tc);
  std::set<int64_t> lengths;
  for (uint64_t i = 0; i < 24; ++i) {
    const Video clip = manifest->clip(i);
    lengths.insert(clip.frames);
    bool found = false;
    for (const auto& [file, v] : videos) found = found || is_window_of(clip, v);
    EXPECT_TRUE(found) << "clip " << i;
    const bool from_d = clip.height == 16 && clip.width == 32;  // its manifest claims 40 frames
    if (!from_d) {
      EXPECT_EQ(manifest->pixels(i), static_cast<double>(clip.frames * clip.height * clip.width))
          << i;
    }
  }
  EXPECT_EQ(lengths, (std::set<int64_t>{1, 5, 9}));  // b's 3 frames give 1; a and c give 9
  fs::remove_all(dir);
}

// read_max_side and read_fps: windows of the videos as `vae cache --max-side --fps` reads them.
TEST(VaeTrainer, ManifestVideosAreReadAsTheCacheReadsThem) {
  const fs::path dir = temp_dir("read");
  fs::create_directories(dir);
  std::ofstream m(dir / "manifest.jsonl");
  std::map<std::string, Video> read;  // each video at 4 fps, its longer side at most 20
  for (const auto& [name, frames, w, h, listed] :
       {std::tuple{"a", 24, 40, 24, true}, {"b", 40, 24, 48, false}}) {
    const std::string file = std::string(name) + ".mp4";
    write_video((dir / file).string(), testing::smooth_video(frames, h, w, 8.0));
    VideoReadOptions o;
    o.fps = 4, o.height = w > h ? h * 20 / w : 20, o.width = w > h ? 20 : w * 20 / h;
    read[file] = read_video((dir / file).string(), o);
    nlohmann::json j{{"path", file}};
    if (listed) j.update({{"frames", frames}, {"width", w}, {"height", h}, {"duration", 3.0}});
    m << j.dump() << "\n";
  }
  m.close();
  EXPECT_EQ(read["a.mp4"].frames, 12);
  EXPECT_EQ(read["a.mp4"].width, 20);
  EXPECT_EQ(read["b.mp4"].height, 20);
  VaeTrainConfig tc;
  tc.frames = "1,5,9", tc.max_side = 8, tc.read_max_side = 20, tc.read_fps = 4;
  const auto manifest =
      manifest_clip_source((dir / "manifest.jsonl").string(), testing::tiny_vae_config(), tc);
  EXPECT_NE(manifest->describe().find(" clips; read with the longer side at most 20 px, at 4 fps)"),
            std::string::npos);
  for (uint64_t i = 0; i < 16; ++i) {
    const Video clip = manifest->clip(i);
    EXPECT_EQ(clip.height, 8);
    bool found = false;
    for (const auto& [file, v] : read) found = found || is_window_of(clip, v);
    EXPECT_TRUE(found) << "clip " << i;
  }
  fs::remove_all(dir);
}

// --held-out: the held-out PSNR is measured on those videos, not on other draws of the data.
TEST(VaeTrainer, HeldOutVideosAreWhatItEvaluatesOn) {
  const fs::path dir = temp_dir("held_out");
  fs::create_directories(dir);
  write_video((dir / "a.mp4").string(), testing::smooth_video(9, 32, 32, 8.0));
  std::ofstream(dir / "train.jsonl") << R"({"path": "a.mp4"})"
                                     << "\n";
  std::ofstream(dir / "held.jsonl") << R"({"path": "gone.mp4"})"
                                    << "\n";
  VaeTrainOptions o = tiny_run(dir / "run");
  o.manifest = (dir / "train.jsonl").string();
  o.train.steps = 2, o.train.max_side = 32;
  EXPECT_TRUE(train_vae(o).finished);  // other draws of a.mp4
  o.out_dir = (dir / "run2").string();
  o.held_out = (dir / "held.jsonl").string();
  testing::expect_error([&] { train_vae(o); }, "gone.mp4", "");  // at the first evaluation
  fs::remove_all(dir);
}

void data_parallel_run_takes_the_steps_of_one_process(bool balanced);

TEST(VaeTrainer, DataParallelRunTakesTheStepsOfOneProcess) {
  for (const bool balanced : {true, false}) {
    SCOPED_TRACE(balanced ? "clips dealt by their pixels" : "clips dealt in order");
    data_parallel_run_takes_the_steps_of_one_process(balanced);
  }
}

void data_parallel_run_takes_the_steps_of_one_process(bool balanced) {
  OneThread one;
  const fs::path a = temp_dir("one"), b = temp_dir("three");
  auto run = [&](const fs::path& dir) {
    VaeTrainOptions o = tiny_run(dir);
    o.train.batch = 4, o.train.steps = 1;
    o.train.balance_shares = balanced;
    return o;
  };
  train_vae(run(a));
  std::vector<int> called(3, 0);
  testing::ThreadGroup::run(3, [&](ProcessGroup& g) {
    VaeTrainOptions o = run(b);
    o.group = &g;
    const VaeTrainResult r =
        train_vae(o, [&](const VaeTrainStatus&) { ++called[static_cast<size_t>(g.rank())]; });
    EXPECT_TRUE(r.finished);
  });
  EXPECT_EQ(called, (std::vector<int>{1, 0, 0}));
  for (const char* column : {"loss", "kl", "grad_norm", "val_psnr"}) {
    const std::vector<double> x = MetricsLog::read_column((a / "log.csv").string(), column),
                              y = MetricsLog::read_column((b / "log.csv").string(), column);
    ASSERT_EQ(x.size(), 1u);
    ASSERT_EQ(y.size(), 1u);
    for (size_t i = 0; i < x.size(); ++i)
      EXPECT_NEAR(x[i], y[i], 2e-5 * std::abs(x[i])) << column << " step " << i + 1;
  }
  const SafeTensors wa = SafeTensors::open((a / "vae.safetensors").string());
  const SafeTensors wb = SafeTensors::open((b / "vae.safetensors").string());
  for (const std::string& name : wa.names())
    testing::expect_close(wb.get(name), wa.get(name), 1e-4f, 1e-5f, name);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(VaeTrainer, RefusesAFolderOfAnotherModel) {
  OneThread one;
  const fs::path d = temp_dir("other");
  VaeTrainOptions o = tiny_run(d);
  o.stop_after = 1;
  train_vae(o);
  o.model.latent_channels = 8;
  try {
    train_vae(o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another model config"), std::string::npos) << e.what();
  }
  fs::remove_all(d);
}

// Fine-tuning the decoder alone from another run's weights: the encoder (and so every latent)
// stays bit for bit what it was, the decoder learns, and the run resumes only with its own parts.
TEST(VaeTrainer, DecoderFineTuneKeepsTheEncoder) {
  OneThread one;
  const fs::path base = temp_dir("base"), tuned = temp_dir("tuned");
  VaeTrainOptions first = tiny_run(base);
  first.train.steps = 2;
  train_vae(first);
  const std::string base_weights = (base / "vae.safetensors").string();

  VaeTrainOptions o = tiny_run(tuned);
  o.train.init = base_weights;
  o.train.freeze_encoder = true;
  o.train.seed = 9;  // other clips than the base run's
  train_vae(o);
  const auto a = load_vae(base_weights);
  const auto b = load_vae((tuned / "vae.safetensors").string());
  EXPECT_EQ(b->encoder_fingerprint(), a->encoder_fingerprint());
  EXPECT_NE(b->fingerprint(), a->fingerprint());
  const SafeTensors wa = SafeTensors::open(base_weights);
  const SafeTensors wb = SafeTensors::open((tuned / "vae.safetensors").string());
  for (const std::string& name : wa.names())
    if (name.rfind("encoder.", 0) == 0)
      testing::expect_close(wb.get(name), wa.get(name), 0, 0, name);
  // Only the decoder has optimizer moments.
  const SafeTensors ckpt = SafeTensors::open((tuned / "checkpoint.safetensors").string());
  EXPECT_TRUE(ckpt.contains("adam.m.decoder.conv_in.weight"));
  EXPECT_FALSE(ckpt.contains("adam.m.encoder.conv_in.weight"));

  // Resuming with the encoder trained again would pair moments with the wrong parameters.
  o.train.freeze_encoder = false;
  o.train.steps = 6;
  testing::expect_error([&] { train_vae(o); }, "freeze_encoder true",
                        "resume it with its own setting");
  // init: a file that is not there, or an autoencoder of another config.
  VaeTrainOptions missing = tiny_run(temp_dir("missing"));
  missing.train.init = (base / "nothing.safetensors").string();
  testing::expect_error([&] { train_vae(missing); }, "nothing.safetensors", "does not exist");
  VaeTrainOptions other = tiny_run(temp_dir("other_init"));
  other.train.init = base_weights;
  other.model.latent_channels = 8;
  testing::expect_error([&] { train_vae(other); }, "another config", "give the init's");
  EXPECT_FALSE(fs::exists(missing.out_dir));  // refused before anything was made
  EXPECT_FALSE(fs::exists(other.out_dir));
  for (const fs::path& d : {base, tuned, fs::path(missing.out_dir), fs::path(other.out_dir)})
    fs::remove_all(d);
}

// `cubist vae train` without --config trains what configs/vae/shapes.json says.
TEST(VaeTrainer, BuiltInDefaultsAreTheShapesConfig) {
  const std::string path = std::string(CUBIST_SOURCE_DIR) + "/configs/vae/shapes.json";
  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(VaeTrainConfig::from_json(j).to_json(), VaeTrainConfig().to_json());
  EXPECT_EQ(VaeConfig::from_json(j), VaeConfig());
}

TEST(VaeTrainer, BadConfigsAreRefused) {
  auto error_of = [](const char* text) -> std::string {
    try {
      VaeTrainConfig::from_json(nlohmann::json::parse(text));
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(error_of(R"({"train": {"stepz": 3}})")
                .find("unknown key \"stepz\" (accepted: steps, batch, lr,"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"steps": 0})").find("steps must be >= 1"), std::string::npos);
  EXPECT_NE(error_of(R"({"frames": "1,8"})").find("8"), std::string::npos);
  EXPECT_NE(error_of(R"({"freeze_encoder": 1})")
                .find("\"freeze_encoder\" has the wrong type (1); expected true or false"),
            std::string::npos);
  EXPECT_EQ(VaeTrainConfig::from_json(nlohmann::json::parse(R"({"model": {}})")).steps,
            VaeTrainConfig().steps);
  EXPECT_NE(error_of(R"({"model": {}, "trian": {"steps": 3}})")
                .find("unknown section \"trian\" (accepted: model, train)"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"read_fps": -1})").find("read_max_side and read_fps must be >= 0"),
            std::string::npos);
  const std::string videos = std::string(CUBIST_SOURCE_DIR) + "/configs/vae/videos.json";
  const VaeTrainConfig v = VaeTrainConfig::from_json(nlohmann::json::parse(std::ifstream(videos)));
  EXPECT_EQ(v.read_max_side, 256);
  EXPECT_EQ(v.read_fps, 8.0);
  EXPECT_EQ(VaeConfig::from_file(videos), VaeConfig());
  // Frame counts the model cannot take are refused before training starts.
  VaeTrainOptions o = tiny_run(temp_dir("frames"));
  o.model.channel_multipliers = {1, 2, 2, 2};
  o.model.temporal_downsample = {0, 1, 2};  // 8x in time: 5 frames do not fit
  o.train.frames = "1,5";
  try {
    train_vae(o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1 + 8k"), std::string::npos) << e.what();
  }
  fs::remove_all(o.out_dir);
}

}  // namespace
}  // namespace cubist
