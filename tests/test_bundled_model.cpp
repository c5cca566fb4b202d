// The bundled Shapes World model (models/shapes/): the committed files load through the real
// loading code (bf16 weights, configs and tokenizer from the metadata) and make a clip. Its
// quality is measured by benchmarks (docs/QUALITY.md), not here.
#include <filesystem>
#include <string>

#include "pipeline/text_to_video.h"
#include "testing.h"

namespace cubist {
namespace {

TEST(BundledModel, LoadsAndMakesAClip) {
  const std::string dir = std::string(CUBIST_SOURCE_DIR) + "/models/shapes";
  if (!std::filesystem::exists(dir + "/dit.safetensors")) GTEST_SKIP() << "no model in " << dir;
  const TextToVideoModel m = load_text_to_video(dir);
  EXPECT_EQ(m.vae->config().summary(), "4x8x8x16");
  EXPECT_EQ(m.dit->config().latent_channels, 16);
  EXPECT_TRUE(m.dit->config().frame_conditioning);
  EXPECT_EQ(m.dit->config().latent_mean.size(), 16u);  // trained on normalized latents

  VideoRequest r;
  r.prompt = "a red ball bouncing";
  r.width = 64;
  r.height = 64;
  r.frames = 5;
  r.steps = 2;
  const PreparedPrompt p = prepare_request(m, r);
  EXPECT_NE(p.conditioned.find("red circle bouncing"), std::string::npos) << p.conditioned;
  const Video v = generate(m, r, p);
  EXPECT_EQ(v.frames, 5);
  EXPECT_EQ(v.width, 64);
  EXPECT_EQ(v.height, 64);
}

}  // namespace
}  // namespace cubist
