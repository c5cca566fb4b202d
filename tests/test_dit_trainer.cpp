// The DiT trainer: the loss falls on a few clips, and a checkpoint resumes exactly the same run.
#include <filesystem>

#include "core/error.h"
#include "core/parallel.h"
#include "diffusion/dit_flow.h"
#include "testing.h"
#include "train/dit_trainer.h"

namespace cubist {
namespace {

DiTConfig tiny() {
  return load_dit_config(std::string(CUBIST_SOURCE_DIR) + "/configs/dit/tiny.json");
}

const std::vector<std::string> kCaptions = {
    "a small red circle bouncing on a navy background",
    "a large blue square moving left on a black background", "",
    "a small green triangle spinning and a large white circle standing still on a gray "
    "background"};

std::vector<Tensor> clips() {
  return {testing::randn({4, 1, 4, 4}, 1), testing::randn({4, 2, 4, 4}, 2),
          testing::randn({4, 1, 2, 6}, 3), testing::randn({4, 3, 2, 2}, 4)};
}

std::string temp(const char* name) {
  return (std::filesystem::temp_directory_path() / name).string();
}

TEST(DiTTrainer, LossFallsOnAFewClips) {
  // Ops this small gain nothing from threads, and on a busy machine every parallel region can
  // stall on a descheduled thread: hundreds of steps run on one.
  const testing::SingleThread one;
  DiTTrainer tr(tiny(), text::Tokenizer::shapes_world(),
                {.adam = {.lr = 3e-3f}, .warmup_steps = 5, .seed = 1});
  const std::vector<Tensor> x = clips();
  double first = 0, last = 0;
  for (int i = 0; i < 80; ++i) {
    const DiTTrainStats s = tr.step(x, kCaptions);
    ASSERT_EQ(s.step, i + 1);
    ASSERT_EQ(s.tokens, 4 + 8 + 3 + 3);
    if (i < 10) first += s.loss / 10;
    if (i >= 70) last += s.loss / 10;
  }
  EXPECT_LT(last, 0.8 * first) << "loss " << first << " -> " << last;
}

TEST(DiTTrainer, CheckpointResumesTheSameRun) {
  const std::string path = temp("cubist_test_dit_ckpt.safetensors");
  const DiTTrainConfig cfg{.adam = {.lr = 1e-3f}, .warmup_steps = 2, .seed = 3};
  DiTTrainer a(tiny(), text::Tokenizer::shapes_world(), cfg, 1);
  const std::vector<Tensor> x = clips();
  a.step(x, kCaptions);
  a.step(x, kCaptions);
  a.save(path);
  const float a3 = a.step(x, kCaptions).loss, a4 = a.step(x, kCaptions).loss;

  DiTTrainer b(tiny(), text::Tokenizer::shapes_world(), cfg, 99);  // other initial weights
  b.load(path);
  EXPECT_EQ(b.steps(), 2);
  EXPECT_EQ(b.step(x, kCaptions).loss, a3);
  EXPECT_EQ(b.step(x, kCaptions).loss, a4);
  for (size_t i = 0; i < a.model().parameters().size(); ++i)
    EXPECT_EQ(a.model().parameters()[i].var.value().to_vector(),
              b.model().parameters()[i].var.value().to_vector());

  // For generation: the model, its config and tokenizer from the file alone.
  const LoadedDiT loaded = load_dit_checkpoint(path);
  EXPECT_EQ(loaded.tokenizer.vocab(), a.tokenizer().vocab());
  EXPECT_EQ(loaded.model->num_parameters(), a.model().num_parameters());

  // Another architecture is refused with the reason.
  DiTConfig other = tiny();
  other.depth = 3;
  DiTTrainer c(other, text::Tokenizer::shapes_world(), cfg);
  EXPECT_THROW(c.load(path), Error);
  std::filesystem::remove(path);
}

// Generating from a checkpoint uses its moving average, as the exported weights do: the last
// weights of a run are noisier, and the two files made different videos.
TEST(DiTTrainer, ACheckpointGeneratesWithItsMovingAverage) {
  const std::string ckpt = temp("cubist_test_dit_ema_ckpt.safetensors");
  const std::string weights = temp("cubist_test_dit_ema_weights.safetensors");
  DiTTrainer t(tiny(), text::Tokenizer::shapes_world(),
               {.adam = {.lr = 1e-2f}, .warmup_steps = 1, .seed = 3, .ema_decay = 0.5f}, 1);
  const std::vector<Tensor> x = clips();
  for (int i = 0; i < 3; ++i) t.step(x, kCaptions);
  t.save(ckpt);
  t.save_weights(weights);
  const LoadedDiT from_ckpt = load_dit_checkpoint(ckpt),
                  from_weights = load_dit_checkpoint(weights);
  bool differs_from_last = false;
  for (size_t i = 0; i < t.model().parameters().size(); ++i) {
    const std::vector<float> averaged = from_ckpt.model->parameters()[i].var.value().to_vector();
    EXPECT_EQ(averaged, from_weights.model->parameters()[i].var.value().to_vector());
    differs_from_last |= averaged != t.model().parameters()[i].var.value().to_vector();
  }
  EXPECT_TRUE(differs_from_last) << "the average equals the last weights: the test shows nothing";
  std::filesystem::remove(ckpt);
  std::filesystem::remove(weights);
}

// Validation: the EMA weights' objective on held-out clips from draws of its own seed, the same
// at every call, batched as a weighted mean, and invisible to the training that follows.
TEST(DiTTrainer, ValidationLossIsFixedDrawsOfTheSamplingWeights) {
  const testing::SingleThread one;
  const DiTTrainConfig config{
      .adam = {.lr = 3e-3f}, .warmup_steps = 1, .seed = 1, .ema_decay = 0.5f};
  DiTTrainer a(tiny(), text::Tokenizer::shapes_world(), config, 1);
  DiTTrainer b(tiny(), text::Tokenizer::shapes_world(), config, 1);
  const std::vector<Tensor> x = clips();
  a.step(x, kCaptions);
  b.step(x, kCaptions);
  const std::vector<Tensor> held = {testing::randn({4, 2, 4, 4}, 9),
                                    testing::randn({4, 1, 2, 2}, 8),
                                    testing::randn({4, 1, 4, 2}, 7)};
  const std::vector<std::string> captions = {kCaptions[0], "a purple circle", kCaptions[1]};
  const float v = a.validation_loss(held, captions, 2, 7);
  EXPECT_EQ(a.validation_loss(held, captions, 2, 7), v);
  EXPECT_NE(a.validation_loss(held, captions, 2, 8), v);  // other draws
  {  // One batch is the flow-matching loss of the EMA weights, drawn from Generator(seed).
    Prompts prompts;
    for (const std::string& c : captions) prompts.push_back(a.tokenizer().encode_lenient(c));
    NoGrad no_grad;
    Generator gen(7), again(7);
    const float one_batch = a.validation_loss(held, captions, 3, 7);
    EXPECT_FLOAT_EQ(one_batch,
                    flow_matching_loss(a.sampling_model(), held, prompts, gen).loss.item());
    EXPECT_NE(one_batch, flow_matching_loss(a.model(), held, prompts, again).loss.item());
  }
  // The next training step is the one it would have been without validation.
  EXPECT_EQ(a.step(x, kCaptions).loss, b.step(x, kCaptions).loss);
}

TEST(DiTTrainer, UnknownCaptionWordsAreErrorsUnlessLenient) {
  DiTTrainer strict(tiny(), text::Tokenizer::shapes_world(), {});
  EXPECT_THROW(strict.step({testing::randn({4, 1, 2, 2}, 1)}, {"a purple circle"}), Error);
  DiTTrainer lenient(tiny(), text::Tokenizer::shapes_world(), {.lenient_captions = true});
  EXPECT_NO_THROW(lenient.step({testing::randn({4, 1, 2, 2}, 1)}, {"a purple circle"}));
}

}  // namespace
}  // namespace cubist
