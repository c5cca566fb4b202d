// The latent cache (data/latent_cache.h): a second run reuses what the first encoded, and a
// folder of latents from another autoencoder or other weights of the same one is refused, not
// mixed in.
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
  EXPECT_EQ(load_latent(latent).vae_weights, a->fingerprint());
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
      "000000.safetensors", "encoded by other weights of this autoencoder");
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
