// The estimate of sampling time that generate prints before a long request (pipeline/
// sampling_time.h): its arithmetic, its measurement and its wording.
#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "model_testing.h"
#include "pipeline/sampling_time.h"

namespace cubist {
namespace {

TEST(SamplingTime, CountsLinearLayersAndAttention) {
  Generator gen(1);
  DiTConfig c = testing::tiny_dit_config();
  c.text.vocab = 8;
  const DiT model(c, gen);
  const double p = static_cast<double>(model.num_parameters());
  const double per_layer = static_cast<double>(c.hidden * c.depth);
  EXPECT_DOUBLE_EQ(evaluation_flops(model, 10, 1), 2 * p * 10 + 4 * 100 * per_layer);
  EXPECT_DOUBLE_EQ(evaluation_flops(model, 10, 2), 2 * evaluation_flops(model, 10, 1));
  // Attention's share grows with the sequence: twice the tokens, more than twice the work.
  EXPECT_GT(evaluation_flops(model, 2000, 1), 2 * evaluation_flops(model, 1000, 1));
  const double rate = measured_flops_per_second(model);
  EXPECT_TRUE(std::isfinite(rate));
  EXPECT_GT(rate, 0);
}

// The decoder's seconds a pixel, alone and with seam guidance's gradient: each measured, finite
// and positive.
TEST(SamplingTime, TimesTheDecoderAndItsGradient) {
  Generator gen(2);
  const Vae vae(testing::tiny_vae_config(), gen);
  const DecoderSeconds s = measured_decoder_seconds(vae);
  EXPECT_TRUE(std::isfinite(s.decode) && std::isfinite(s.guide));
  EXPECT_GT(s.decode, 0);
  // Which is larger is not asserted: timings are for benchmarks, and under a loaded machine one
  // measurement took 20 times the other's (the decoding alone, in a ctest -j2 run).
  EXPECT_GT(s.guide, 0);
}

TEST(SamplingTime, SaysDurationsAsAPersonWould) {
  EXPECT_EQ(about_duration(0.2), "about 1 s");
  EXPECT_EQ(about_duration(40), "about 40 s");
  EXPECT_EQ(about_duration(12 * 60 + 10), "about 12 min");
  EXPECT_EQ(about_duration(3 * 3600 + 20 * 60), "about 3 h 20 min");
  EXPECT_EQ(about_duration(5 * 86400), "about 5 days");
}

}  // namespace
}  // namespace cubist
