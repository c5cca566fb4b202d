// The latent cache (data/latent_cache.h): a second run reuses what the first encoded, and a
// folder of latents from another autoencoder or other encoder weights of the same one is
// refused, not mixed in.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>

#include "data/clip_cut.h"
#include "data/latent_cache.h"
#include "data/manifest.h"
#include "io/safetensors.h"
#include "model_testing.h"
#include "models/vae/latent_io.h"
#include "testing.h"

namespace cubist {
namespace {

class LatentCache : public testing::TinyModelTest {};

TEST_F(LatentCache, ReusesItsLatentsAndRefusesThoseOfOtherWeights) {
  std::vector<ManifestEntry> entries;
  for (int i = 0; i < 2; ++i) {
    const std::string clip = path("clip" + std::to_string(i) + "/");
    write_video(clip, testing::smooth_video(5, 16, 16, 8));
    entries.push_back({.path = clip, .caption = "a small red circle bouncing"});
  }
  write_manifest(path("videos.jsonl"), entries);
  testing::write_tiny_vae(path("a.safetensors"), 1);
  testing::write_tiny_vae(path("b.safetensors"), 2);
  const auto a = load_vae(path("a.safetensors"));
  const auto b = load_vae(path("b.safetensors"));
  ASSERT_NE(a->fingerprint(), b->fingerprint());
  EXPECT_EQ(a->fingerprint(), load_vae(path("a.safetensors"))->fingerprint());

  const CacheResult first =
      cache_latents(*a, path("a.safetensors"), path("videos.jsonl"), path("cache"), {});
  EXPECT_EQ(first.cached, 2);
  const std::string latent = path("cache/latents/000000.safetensors");
  EXPECT_EQ(load_latent(latent).vae_encoder, a->encoder_fingerprint());
  const auto written = std::filesystem::last_write_time(latent);

  // The same weights again: every latent is kept as it is.
  const CacheResult again =
      cache_latents(*a, path("a.safetensors"), path("videos.jsonl"), path("cache"), {});
  EXPECT_EQ(again.cached, 2);
  EXPECT_EQ(again.failed, 0);
  EXPECT_EQ(std::filesystem::last_write_time(latent), written);
  // Its bf16 export holds the same encoder at another precision: the cache is kept too.
  export_safetensors(path("a.safetensors"), path("a16.safetensors"), FileDType::BF16);
  const auto a16 = load_vae(path("a16.safetensors"));
  ASSERT_NE(a16->encoder_fingerprint(), a->encoder_fingerprint());
  EXPECT_EQ(
      cache_latents(*a16, path("a16.safetensors"), path("videos.jsonl"), path("cache"), {}).cached,
      2);
  EXPECT_EQ(std::filesystem::last_write_time(latent), written);

  // Other weights (a retrained autoencoder, same config): refused before anything is touched.
  testing::expect_error(
      [&] { cache_latents(*b, path("b.safetensors"), path("videos.jsonl"), path("cache"), {}); },
      "000000.safetensors", "encoded by other encoder weights of this autoencoder");
  EXPECT_EQ(std::filesystem::last_write_time(latent), written);
  // An autoencoder of another config: refused the same way.
  VaeConfig wide = testing::tiny_vae_config();
  wide.latent_channels *= 2;
  Generator gen(3);
  const Vae other(wide, gen);
  testing::expect_error([&] { cache_latents(other, "", path("videos.jsonl"), path("cache"), {}); },
                        "000000.safetensors", "an autoencoder of another config");
  EXPECT_EQ(read_latent_manifest(path("cache/latents.jsonl")).size(), 2u);
  // Another manifest into the same folder: refused, the folder's index kept.
  std::vector<ManifestEntry> others = {{.path = path("clip1/"), .caption = "a blue square"}};
  write_manifest(path("others.jsonl"), others);
  testing::expect_error(
      [&] { cache_latents(*a, path("a.safetensors"), path("others.jsonl"), path("cache"), {}); },
      "holds the latents of another manifest", "000000.safetensors is " + path("clip0/"));
  EXPECT_EQ(std::filesystem::last_write_time(latent), written);
  EXPECT_EQ(read_latent_manifest(path("cache/latents.jsonl")).size(), 2u);
  // The same videos with one added before them (indexed again): the lines moved, and it says so.
  const std::vector<ManifestEntry> listed = read_manifest(path("videos.jsonl"));
  std::vector<ManifestEntry> grown = {{.path = path("clip1/"), .caption = "a blue square"}};
  grown.insert(grown.end(), listed.begin(), listed.end());
  write_manifest(path("grown.jsonl"), grown);
  testing::expect_error(
      [&] { cache_latents(*a, path("a.safetensors"), path("grown.jsonl"), path("cache"), {}); },
      "was cached from another order of", "is its line 2, and was line 1 when cached");
  // A latent whose name is a number past any line (past size_t, too): no line of this manifest.
  std::filesystem::create_directories(path("cache2/latents"));
  std::filesystem::copy_file(latent, path("cache2/latents/123456789012345678901234.safetensors"));
  testing::expect_error(
      [&] { cache_latents(*a, path("a.safetensors"), path("videos.jsonl"), path("cache2"), {}); },
      "holds the latents of another manifest", "is missing");
}

// A caption the manifest changed since a video was cached is taken (the latents stay), and a
// video written since it was cached is encoded again; each is noted.
TEST_F(LatentCache, TakesNewCaptionsAndEncodesChangedVideosAgain) {
  const std::string clip = path("clip.mp4");
  write_video(clip, testing::smooth_video(5, 16, 16, 8));
  write_manifest(path("v.jsonl"), {{.path = clip, .caption = "a red ball"}});
  testing::write_tiny_vae(path("a.safetensors"), 1);
  const auto a = load_vae(path("a.safetensors"));
  std::vector<std::string> notes;
  const auto on_video = [&](const CacheProgress& p) {
    if (p.handled && !p.note.empty()) notes.push_back(p.note);
  };
  const auto cache = [&] {
    notes.clear();
    EXPECT_EQ(cache_latents(*a, path("a.safetensors"), path("v.jsonl"), path("cache"), {}, on_video)
                  .cached,
              1);
  };
  cache();
  EXPECT_TRUE(notes.empty());
  const std::string latent = path("cache/latents/000000.safetensors");
  const Tensor first = load_latent(latent).latent;

  write_manifest(path("v.jsonl"), {{.path = clip, .caption = "a blue ball"}});
  cache();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "its caption is now the manifest's \"a blue ball\" (was \"a red ball\")");
  EXPECT_EQ(read_latent_manifest(path("cache/latents.jsonl"))[0].caption, "a blue ball");
  EXPECT_EQ(load_latent(latent).caption, "a blue ball");
  EXPECT_EQ(load_latent(latent).latent.to_vector(), first.to_vector());
  cache();
  EXPECT_TRUE(notes.empty()) << notes[0];

  // Another video under the same name, written after the latent.
  Video other = testing::smooth_video(5, 16, 16, 8);
  std::reverse(other.rgb.begin(), other.rgb.end());
  write_video(clip, other);
  std::filesystem::last_write_time(
      clip, std::filesystem::last_write_time(latent) + std::chrono::seconds(2));
  cache();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "encoded again: the video changed since it was cached");
  EXPECT_NE(load_latent(latent).latent.to_vector(), first.to_vector());
  EXPECT_EQ(load_latent(latent).caption, "a blue ball");
}

// The latents depend on the encoder alone: a decoder fine-tuned on its own keeps a cache valid,
// an encoder changed in one weight does not. Files from before the encoder's fingerprint (the
// whole autoencoder's in "vae_weights") are held to the whole autoencoder.
TEST_F(LatentCache, ADecoderChangedAloneKeepsTheCache) {
  const std::string clip = path("clip/");
  write_video(clip, testing::smooth_video(5, 16, 16, 8));
  write_manifest(path("videos.jsonl"), {{.path = clip, .caption = "a small red circle bouncing"}});
  testing::write_tiny_vae(path("a.safetensors"), 1);
  const auto a = load_vae(path("a.safetensors"));
  cache_latents(*a, path("a.safetensors"), path("videos.jsonl"), path("cache"), {});
  const std::string latent = path("cache/latents/000000.safetensors");
  const auto written = std::filesystem::last_write_time(latent);

  auto tuned = load_vae(path("a.safetensors"));
  auto change_first = [](Vae& vae, const std::string& prefix) {
    for (NamedParam& p : vae.parameters())
      if (p.name.rfind(prefix, 0) == 0) {
        p.var.value().data<float>()[0] += 0.5f;
        return;
      }
  };
  change_first(*tuned, "decoder.");
  ASSERT_NE(tuned->fingerprint(), a->fingerprint());
  const CacheResult kept =
      cache_latents(*tuned, path("a.safetensors"), path("videos.jsonl"), path("cache"), {});
  EXPECT_EQ(kept.cached, 1);
  EXPECT_EQ(kept.failed, 0);
  EXPECT_EQ(std::filesystem::last_write_time(latent), written);

  change_first(*tuned, "encoder.");
  testing::expect_error([&] { cache_latents(*tuned, "", path("videos.jsonl"), path("cache"), {}); },
                        "000000.safetensors", "encoded by other encoder weights");

  LatentFile old = load_latent(latent);  // as the previous release wrote it
  old.vae_encoder.clear();
  old.vae_weights = a->fingerprint();
  save_latent(latent, old);
  EXPECT_EQ(cache_latents(*a, "", path("videos.jsonl"), path("cache"), {}).cached, 1);
  auto decoder_only = load_vae(path("a.safetensors"));
  change_first(*decoder_only, "decoder.");
  testing::expect_error(
      [&] { cache_latents(*decoder_only, "", path("videos.jsonl"), path("cache"), {}); },
      "000000.safetensors", "encoded by other weights of this autoencoder");
}

// Frames [t0, t0 + t) of v, rows [y0, y0 + h) and columns [x0, x0 + w).
Video cut_of(const Video& v, int64_t t0, int64_t t, int64_t y0, int64_t h, int64_t x0, int64_t w) {
  Video out(t, h, w, v.fps);
  for (int64_t f = 0; f < t; ++f)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        std::copy_n(v.pixel(t0 + f, y0 + y, x0 + x), 3, out.pixel(f, y, x));
  return out;
}

// 23 frames of 30x20 cut into clips of 9: frames 0-8, 9-17 and the 5 of 18-22 the autoencoder
// takes (1 + 4k), each the centred 28x20 (multiples of its 4), encoded on its own.
TEST_F(LatentCache, CutsVideosIntoClipsEncodedOnTheirOwn) {
  const Video v = testing::smooth_video(23, 20, 30, 8);
  write_video(path("clip/"), v);  // PNG frames: lossless, so the clips can be compared exactly
  write_manifest(path("videos.jsonl"),
                 {{.path = path("clip/"), .caption = "a wave", .frames = 23}});
  testing::write_tiny_vae(path("a.safetensors"), 1);
  const auto a = load_vae(path("a.safetensors"));
  const CacheOptions o{.cut = {.clip_frames = 9}};
  std::vector<std::pair<int64_t, bool>> reports;  // frames read, and whether the video is done
  const CacheResult r = cache_latents(*a, path("a.safetensors"), path("videos.jsonl"),
                                      path("cache"), o, [&](const CacheProgress& p) {
                                        EXPECT_EQ(p.frames_total, 23);
                                        reports.emplace_back(p.frames, p.handled);
                                      });
  EXPECT_EQ(reports, (std::vector<std::pair<int64_t, bool>>{
                         {0, false}, {9, false}, {18, false}, {23, false}, {23, true}}));
  EXPECT_EQ(r.cached, 1);
  EXPECT_EQ(r.clips, 3);
  const std::vector<LatentEntry> entries = read_latent_manifest(r.manifest);
  ASSERT_EQ(entries.size(), 3u);
  const int64_t starts[] = {0, 9, 18}, frames[] = {9, 9, 5};
  for (size_t k = 0; k < 3; ++k) {
    const LatentFile f = load_latent(entries[k].latent);
    EXPECT_EQ(f.start_frame, starts[k]);
    EXPECT_EQ(f.frames, frames[k]);
    EXPECT_EQ(f.width, 28);
    EXPECT_EQ(f.height, 20);
    EXPECT_EQ(entries[k].caption, "a wave");
    const LatentFile alone = encode_latent(*a, cut_of(v, starts[k], frames[k], 0, 20, 1, 28), "");
    testing::expect_close(f.latent, alone.latent, 1e-6f, 1e-6f, entries[k].latent);
  }

  // Again: nothing encoded again. A clip file gone: its video is encoded again, whole.
  const std::string second = path("cache/latents/000000_1.safetensors");
  const auto written = std::filesystem::last_write_time(second);
  EXPECT_EQ(cache_latents(*a, "", path("videos.jsonl"), path("cache"), o).clips, 3);
  EXPECT_EQ(std::filesystem::last_write_time(second), written);
  std::filesystem::remove(path("cache/latents/000000_2.safetensors"));
  EXPECT_EQ(cache_latents(*a, "", path("videos.jsonl"), path("cache"), o).clips, 3);
  EXPECT_TRUE(std::filesystem::exists(path("cache/latents/000000_2.safetensors")));

  // A cut of another length, or none, is refused before anything is written.
  const std::string listed = testing::file_bytes(r.manifest);
  testing::expect_error(
      [&] {
        cache_latents(*a, "", path("videos.jsonl"), path("cache"), {.cut = {.clip_frames = 5}});
      },
      "cache",
      "holds latents of clips of at most 9 frames, where this cache asks for clips of at "
      "most 5 frames");
  testing::expect_error([&] { cache_latents(*a, "", path("videos.jsonl"), path("cache"), {}); },
                        "cache", "where this cache asks for whole videos");
  EXPECT_EQ(testing::file_bytes(r.manifest), listed);
  testing::expect_error(
      [&] { cache_latents(*a, "", path("videos.jsonl"), path("c2"), {.cut = {.clip_frames = 8}}); },
      "clip_frames", "1 + 4k frames");
  testing::expect_error(
      [&] {
        cache_latents(*a, "", path("videos.jsonl"), path("c2"), {.cut = {.fps = 4}, .pad = true});
      },
      "vae cache", "padding applies to whole videos");

  // Asked to stop: it stops between two clips, and the video is not listed as cached.
  const std::atomic<bool> stop{true};
  const CacheResult stopped = cache_latents(*a, "", path("videos.jsonl"), path("c3"), o, {}, &stop);
  EXPECT_TRUE(stopped.stopped);
  EXPECT_EQ(stopped.cached, 0);
  EXPECT_FALSE(std::filesystem::exists(path("c3/latents/000000.json")));
}

TEST(ClipCut, ScalesTheLongerSideDownAndCropsToTheAutoencodersBlocks) {
  const CutSize hd = cut_size({.max_side = 256}, 8, 1080, 1920, "hd.mp4");
  EXPECT_EQ(hd.read_height, 144);
  EXPECT_EQ(hd.read_width, 256);
  EXPECT_EQ(hd.height, 144);
  EXPECT_EQ(hd.width, 256);
  const CutSize portrait = cut_size({.max_side = 300}, 8, 320, 240, "p.mp4");
  EXPECT_EQ(portrait.read_height, 300);
  EXPECT_EQ(portrait.read_width, 225);
  EXPECT_EQ(portrait.height, 296);
  EXPECT_EQ(portrait.width, 224);
  const CutSize small = cut_size({.max_side = 512}, 8, 240, 320, "s.mp4");  // never enlarged
  EXPECT_EQ(small.read_height, 0);
  EXPECT_EQ(small.height, 240);
  EXPECT_EQ(small.width, 320);
  const CutSize native = cut_size({.fps = 8}, 4, 21, 37, "n.mp4");
  EXPECT_EQ(native.height, 20);
  EXPECT_EQ(native.width, 36);
  testing::expect_error([] { cut_size({.max_side = 64}, 8, 2, 1000, "strip.mp4"); }, "strip.mp4",
                        "hold no 8x8 block");
}

// A video, or a safetensors file that is not a latent, given where a latent belongs.
TEST_F(LatentCache, NamesWhatALatentFileIs) {
  write_video(path("clip.mp4"), testing::smooth_video(5, 16, 16, 8));
  testing::expect_error([&] { load_latent(path("clip.mp4")); }, "clip.mp4",
                        "a latent file is the .safetensors that `cubist vae encode` writes");
  testing::write_tiny_vae(path("vae.safetensors"), 1);
  testing::expect_error([&] { load_latent(path("vae.safetensors")); }, "vae.safetensors",
                        "not a Cubist latent file");
}

TEST(ModuleFingerprint, ChangesWithAnyWeight) {
  Generator gen(1);
  Vae vae(testing::tiny_vae_config(), gen);
  const std::string before = vae.fingerprint();
  EXPECT_EQ(before.size(), 16u);
  vae.parameters().back().var.value().data<float>()[0] += 1e-6f;
  EXPECT_NE(vae.fingerprint(), before);
}

}  // namespace
}  // namespace cubist
