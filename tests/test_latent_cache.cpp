// The latent cache (data/latent_cache.h): a second run reuses what the first encoded, and a
// folder of latents from another autoencoder or other encoder weights of the same one is
// refused, not mixed in.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/latent_cache.h"
#include "data/manifest.h"
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
      cache_latents(*a, path("a.safetensors"), path("videos.jsonl"), path("cache"), false);
  EXPECT_EQ(first.cached, 2);
  const std::string latent = path("cache/latents/000000.safetensors");
  EXPECT_EQ(load_latent(latent).vae_encoder, a->encoder_fingerprint());
  const auto written = std::filesystem::last_write_time(latent);

  // The same weights again: every latent is kept as it is.
  const CacheResult again =
      cache_latents(*a, path("a.safetensors"), path("videos.jsonl"), path("cache"), false);
  EXPECT_EQ(again.cached, 2);
  EXPECT_EQ(again.failed, 0);
  EXPECT_EQ(std::filesystem::last_write_time(latent), written);

  // Other weights (a retrained autoencoder, same config): refused before anything is touched.
  testing::expect_error(
      [&] { cache_latents(*b, path("b.safetensors"), path("videos.jsonl"), path("cache"), false); },
      "000000.safetensors", "encoded by other encoder weights of this autoencoder");
  EXPECT_EQ(std::filesystem::last_write_time(latent), written);
  // An autoencoder of another config: refused the same way.
  VaeConfig wide = testing::tiny_vae_config();
  wide.latent_channels *= 2;
  Generator gen(3);
  const Vae other(wide, gen);
  testing::expect_error(
      [&] { cache_latents(other, "", path("videos.jsonl"), path("cache"), false); },
      "000000.safetensors", "an autoencoder of another config");
  EXPECT_EQ(read_latent_manifest(path("cache/latents.jsonl")).size(), 2u);
  // Another manifest into the same folder: refused, the folder's index kept.
  std::vector<ManifestEntry> others = {{.path = path("clip1/"), .caption = "a blue square"}};
  write_manifest(path("others.jsonl"), others);
  testing::expect_error(
      [&] { cache_latents(*a, path("a.safetensors"), path("others.jsonl"), path("cache"), false); },
      "holds the latents of another manifest", "000000.safetensors is " + path("clip0/"));
  EXPECT_EQ(std::filesystem::last_write_time(latent), written);
  EXPECT_EQ(read_latent_manifest(path("cache/latents.jsonl")).size(), 2u);
  // A latent whose name is a number past any line (past size_t, too): no line of this manifest.
  std::filesystem::create_directories(path("cache2/latents"));
  std::filesystem::copy_file(latent, path("cache2/latents/123456789012345678901234.safetensors"));
  testing::expect_error(
      [&] {
        cache_latents(*a, path("a.safetensors"), path("videos.jsonl"), path("cache2"), false);
      },
      "holds the latents of another manifest", "is missing");
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
  cache_latents(*a, path("a.safetensors"), path("videos.jsonl"), path("cache"), false);
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
      cache_latents(*tuned, path("a.safetensors"), path("videos.jsonl"), path("cache"), false);
  EXPECT_EQ(kept.cached, 1);
  EXPECT_EQ(kept.failed, 0);
  EXPECT_EQ(std::filesystem::last_write_time(latent), written);

  change_first(*tuned, "encoder.");
  testing::expect_error(
      [&] { cache_latents(*tuned, "", path("videos.jsonl"), path("cache"), false); },
      "000000.safetensors", "encoded by other encoder weights");

  LatentFile old = load_latent(latent);  // as the previous release wrote it
  old.vae_encoder.clear();
  old.vae_weights = a->fingerprint();
  save_latent(latent, old);
  EXPECT_EQ(cache_latents(*a, "", path("videos.jsonl"), path("cache"), false).cached, 1);
  auto decoder_only = load_vae(path("a.safetensors"));
  change_first(*decoder_only, "decoder.");
  testing::expect_error(
      [&] { cache_latents(*decoder_only, "", path("videos.jsonl"), path("cache"), false); },
      "000000.safetensors", "encoded by other weights of this autoencoder");
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
