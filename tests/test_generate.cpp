// Tests of `cubist generate`'s library side (pipeline/text_to_video.h, diffusion/video_sampling.h,
// models/model_files.h, io/sha256.h): the same seed gives byte-identical videos, the outputs carry
// their provenance (sidecar and container metadata), every bad input is an Error saying what is
// accepted, and the default model folder is found or its absence explained.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "diffusion/dit_flow.h"
#include "diffusion/video_sampling.h"
#include "io/sha256.h"
#include "model_testing.h"
#include "models/model_files.h"
#include "models/text/prompt_expansion.h"
#include "ops/gemm.h"
#include "pipeline/text_to_video.h"
#include "pipeline/video_prompts.h"
#include "testing.h"
#include "train/dit_trainer.h"

namespace cubist {
namespace {

namespace fs = std::filesystem;

// A model folder: the tiny autoencoder and a tiny DiT (one training step, so that it predicts
// something) that takes at most 12 prompt words.
void write_model(const std::string& dir, int64_t latent_channels = 4,
                 const std::string& caption = "a small red circle bouncing on a navy background",
                 const std::map<std::string, std::string>& meta = {}) {
  fs::create_directories(dir);
  testing::write_tiny_vae(dir + "/vae.safetensors");
  DiTConfig c = testing::tiny_dit_config();
  c.latent_channels = latent_channels;
  c.max_text_tokens = 12;
  const text::Tokenizer words = caption.find("circle") != std::string::npos
                                    ? text::Tokenizer::shapes_world()
                                    : text::Tokenizer::from_captions({caption});
  DiTTrainer tr(c, words, {.adam = {.lr = 1e-2f}, .ema_decay = 0.9f});
  tr.step({testing::randn({latent_channels, 2, 4, 4}, 1)}, {caption});
  tr.save_weights(dir + "/dit.safetensors", meta);
}

class Generate : public testing::TinyModelTest {
 protected:
  void SetUp() override {
    TinyModelTest::SetUp();
    write_model(path("model"));
    model_ = load_text_to_video(path("model"));
  }
  VideoRequest request(const std::string& prompt, uint64_t seed = 1) const {
    VideoRequest r;
    r.prompt = prompt;
    r.width = 24, r.height = 16, r.frames = 5, r.steps = 3, r.seed = seed;
    return r;
  }
  // Generates and writes `out`; returns the provenance record.
  nlohmann::ordered_json make(const VideoRequest& r, const std::string& out) const {
    const PreparedPrompt p = prepare_request(model_, r);
    const Video v = generate(model_, r, p);
    const nlohmann::ordered_json record = provenance(model_, r, p);
    write_generated(out, v, record);
    return record;
  }
  void expect_bad(const VideoRequest& r, const std::string& op, const std::string& part) const {
    testing::expect_error([&] { prepare_request(model_, r); }, op, part);
  }

  TextToVideoModel model_;
};

TEST_F(Generate, SameSeedSameBytes) {
  int steps_seen = 0;
  const VideoRequest r = request("a red ball bouncing", 7);
  const PreparedPrompt p = prepare_request(model_, r);
  const Video v = generate(model_, r, p, [&](int done, int total) {
    EXPECT_EQ(done, ++steps_seen);
    EXPECT_EQ(total, 3);
  });
  EXPECT_EQ(steps_seen, 3);
  EXPECT_EQ(v.frames, 5);
  EXPECT_EQ(v.width, 24);
  make(r, path("a.mp4"));
  make(r, path("b.mp4"));
  make(request("a red ball bouncing", 8), path("c.mp4"));
  const std::string a = testing::file_bytes(path("a.mp4"));
  EXPECT_GT(a.size(), 100u);
  EXPECT_EQ(a, testing::file_bytes(path("b.mp4")));
  EXPECT_NE(a, testing::file_bytes(path("c.mp4")));
  // Another time shift: the same seed, another schedule, another video; the sidecar says so.
  VideoRequest shifted = r;
  shifted.shift = 3.0f;
  make(shifted, path("d.mp4"));
  EXPECT_NE(a, testing::file_bytes(path("d.mp4")));
  std::ifstream sidecar(path("d.mp4.json"));
  EXPECT_EQ(nlohmann::json::parse(sidecar).at("shift"), 3.0);
  std::ifstream plain(path("a.mp4.json"));
  EXPECT_FALSE(nlohmann::json::parse(plain).contains("shift"));  // the model's own
  // Notes tell how a run went (a time estimate measured on this machine, how the model was
  // found): the record beside the video keeps them, and the bytes do not depend on them.
  const PreparedPrompt pr = prepare_request(model_, r);
  nlohmann::ordered_json noted = provenance(model_, r, pr);
  noted["notes"] = {"sampling will take about 3 min on this machine"};
  write_generated(path("e.mp4"), generate(model_, r, pr), noted);
  EXPECT_EQ(a, testing::file_bytes(path("e.mp4")));
  std::ifstream e_side(path("e.mp4.json"));
  EXPECT_EQ(nlohmann::json::parse(e_side).at("notes")[0],
            "sampling will take about 3 min on this machine");
}

// A negative prompt takes the empty prompt's place as guidance's unconditional input: the empty
// prompt given as one changes nothing, another prompt changes the video, and the sidecar records
// it; one the model cannot read, or without guidance, is refused.
TEST_F(Generate, NegativePromptIsTheUnconditionalInputOfGuidance) {
  // The test model, one step from its zero-initialised gates, does not read its prompt yet:
  // random weights everywhere make the text count.
  Generator gen(11);
  for (const NamedParam& w : model_.dit->parameters()) {
    Tensor v = w.var.value();
    gen.normal_(v, 0.0f, 0.1f);
  }
  const VideoRequest r = request("a red ball bouncing", 3);
  const PreparedPrompt p = prepare_request(model_, r);
  const Dims shape{4, 2, 4, 6};
  GenerateOptions g;
  g.steps = 2, g.guidance = 5.0f, g.seed = 3;
  const Tensor plain = generate_latents(*model_.dit, shape, p.ids, g);
  const std::vector<int32_t> empty{text::kEmpty}, other = model_.tokenizer.encode("a blue square");
  g.negative_prompt = &empty;
  EXPECT_EQ(generate_latents(*model_.dit, shape, p.ids, g).to_vector(), plain.to_vector());
  g.negative_prompt = &other;
  EXPECT_NE(generate_latents(*model_.dit, shape, p.ids, g).to_vector(), plain.to_vector());

  VideoRequest away = r;
  away.negative_prompt = "a blue square";
  const nlohmann::ordered_json record = make(away, path("away.mp4"));
  make(r, path("plain.mp4"));
  EXPECT_EQ(record.at("negative_prompt"), "a blue square");
  EXPECT_NE(testing::file_bytes(path("away.mp4")), testing::file_bytes(path("plain.mp4")));
  VideoRequest blank = r;
  blank.negative_prompt = " , ";  // no words: no negative prompt
  EXPECT_FALSE(make(blank, path("blank.mp4")).contains("negative_prompt"));
  EXPECT_EQ(testing::file_bytes(path("blank.mp4")), testing::file_bytes(path("plain.mp4")));

  VideoRequest unknown = r;
  unknown.negative_prompt = "a purple ball";
  expect_bad(unknown, "the negative prompt", "\"purple\"");
  VideoRequest unguided = away;
  unguided.guidance = 1.0f;
  expect_bad(unguided, "negative prompt steers guidance", "--guidance above 1");
}

TEST_F(Generate, WritesProvenance) {
  const VideoRequest r = request("a red ball bouncing", 3);
  make(r, path("clip.mp4"));
  std::ifstream in(path("clip.mp4.json"));
  const nlohmann::json j = nlohmann::json::parse(in);
  const text::ExpandedPrompt e = text::expand_prompt("a red ball bouncing", 3);
  EXPECT_EQ(j.at("prompt"), "a red ball bouncing");
  EXPECT_EQ(j.at("expanded_prompt"), e.caption);
  EXPECT_EQ(j.at("filled"), nlohmann::json(e.filled));
  EXPECT_FALSE(e.filled.empty());
  EXPECT_EQ(j.at("seed"), 3);
  EXPECT_EQ(j.at("steps"), 3);
  EXPECT_EQ(j.at("guidance"), 5.0);
  EXPECT_EQ(j.at("guidance_rule"), "cfg");
  // Float settings are recorded as typed, not as their float's double (0.30000001192...).
  EXPECT_EQ(as_given(0.3f), 0.3);
  EXPECT_EQ(as_given(7.5f), 7.5);
  EXPECT_EQ(j.at("sampler"), "heun");
  EXPECT_EQ(j.at("width"), 24);
  EXPECT_EQ(j.at("height"), 16);
  EXPECT_EQ(j.at("frames"), 5);
  EXPECT_EQ(j.at("ai_generated"), true);
  EXPECT_FALSE(j.at("cubist_version").get<std::string>().empty());
  EXPECT_EQ(j.at("utc_time").get<std::string>().size(), 20u);  // 2025-01-02T03:04:05Z
  EXPECT_EQ(j.at("run").at("threads"), num_threads());  // what a result to the bit depends on
  EXPECT_EQ(j.at("run").at("deterministic"), ops::gemm_deterministic());
  EXPECT_EQ(j.at("model").at("dit").at("file"), "dit.safetensors");
  EXPECT_EQ(j.at("model").at("dit").at("sha256"), sha256_file(path("model/dit.safetensors")));
  EXPECT_EQ(j.at("model").at("vae").at("sha256"), sha256_file(path("model/vae.safetensors")));

  const VideoInfo info = probe_video(path("clip.mp4"));
  EXPECT_EQ(info.metadata.at("comment"), "AI-generated by Cubist; prompt: " + e.caption);
  EXPECT_EQ(info.metadata.at("ai_generated"), "true");
  EXPECT_EQ(nlohmann::json::parse(info.metadata.at("provenance")).at("seed"), 3);
  // The container's record leaves the machine's side out, so the bytes depend on the seed alone.
  EXPECT_FALSE(nlohmann::json::parse(info.metadata.at("provenance")).contains("run"));

  // WebM and frame folders keep the tags too; GIF only has the sidecar.
  make(r, path("clip.webm"));
  EXPECT_EQ(probe_video(path("clip.webm")).metadata.at("ai_generated"), "true");
  make(r, path("frames/"));
  EXPECT_EQ(probe_video(path("frames/")).metadata.at("ai_generated"), "true");
  EXPECT_TRUE(fs::exists(path("frames.json")));
  make(r, path("clip.gif"));
  EXPECT_EQ(probe_video(path("clip.gif")).frames, 5);
  EXPECT_TRUE(fs::exists(path("clip.gif.json")));
  EXPECT_THROW(check_video_output(path("clip.avi")), Error);
}

TEST_F(Generate, NoExpandConditionsOnThePromptAsTyped) {
  VideoRequest r = request("a small red circle bouncing on a navy background");
  r.expand = false;
  const PreparedPrompt p = prepare_request(model_, r);
  EXPECT_EQ(p.conditioned, r.prompt);
  EXPECT_TRUE(p.filled.empty());
  EXPECT_EQ(p.ids, model_.tokenizer.encode(r.prompt));
  r.prompt = "red ball";  // "ball" is expansion's synonym, not a word of the model
  expect_bad(r, "tokenizer", "unknown word \"ball\"");
}

// Prompt expansion writes Shapes World captions: a model trained on other captions takes its
// prompt as typed, and says so.
TEST_F(Generate, ExpandsOnlyForAModelOfShapesWorldCaptions) {
  using text::Tokenizer;
  EXPECT_TRUE(text::speaks_shapes_world(Tokenizer::shapes_world()));
  EXPECT_TRUE(text::speaks_shapes_world(Tokenizer::from_captions({"a red circle"})));
  EXPECT_FALSE(text::speaks_shapes_world(Tokenizer::from_captions({"a red circle at dusk"})));
  EXPECT_FALSE(text::speaks_shapes_world(Tokenizer::from_captions({""})));
  EXPECT_TRUE(prepare_video_job(model_, request("a red ball"), {}).request.expand);

  write_model(path("waves"), 4, "a slow wave at dusk");
  const TextToVideoModel waves = load_text_to_video(path("waves"));
  const VideoJob job = prepare_video_job(waves, request("a slow wave"), {});
  EXPECT_FALSE(job.request.expand);
  EXPECT_EQ(job.prompt.conditioned, "a slow wave");
  ASSERT_EQ(job.notes.size(), 1u);
  EXPECT_NE(job.notes[0].find("the prompt is taken as typed"), std::string::npos);
  EXPECT_FALSE(job_provenance(waves, job)["expand"].get<bool>());
}

TEST_F(Generate, BadInputsSayWhatIsAccepted) {
  expect_bad(request(""), "generate", "the prompt is empty");
  expect_bad(request("  ,  "), "generate", "the prompt is empty");
  expect_bad(request("a purple ball"), "prompt", "unknown word \"purple\"");
  // 16 words after expansion; the model takes 12.
  expect_bad(request("a red ball bouncing and a blue box moving left"), "generate",
             "expanded prompt has 16 words but this model takes at most 12");
  VideoRequest r =
      request("a red circle bouncing and a blue square moving left on a navy background");
  r.expand = false;
  expect_bad(r, "generate", "takes at most 12");
  r = request("a red ball");
  r.width = 20;
  expect_bad(r, "generate", "multiples of 8");
  r = request("a red ball");
  r.width = 20;
  expect_bad(r, "generate", "nearest: 16x16 or 24x16");
  r = request("a red ball");
  r.frames = 4;
  expect_bad(r, "generate", "1 + 4k frames (1, 5, 9");
  r = request("a red ball");
  r.guidance = 0.5f;
  expect_bad(r, "generate", "guidance 0.5; accepted: 1 to 100");
  r = request("a red ball");
  r.steps = 0;
  expect_bad(r, "generate", "accepted: 1 or more");
  r = request("a red ball");
  r.shift = -1.0f;
  expect_bad(r, "generate", "time shift -1; accepted: a number > 0");
}

TEST_F(Generate, ModelFilesAreFoundOrExplained) {
  // Missing files: where it looked and how to get a model.
  fs::create_directories(path("empty"));
  testing::expect_error([&] { load_text_to_video(path("empty")); }, "no dit.safetensors found",
                        path("empty/dit.safetensors"));
  testing::expect_error([&] { load_text_to_video(path("empty")); }, "looked at", "cubist train");
  // The default folder comes from $CUBIST_MODEL when set.
  setenv(kModelDirEnv, path("model").c_str(), 1);
  EXPECT_EQ(find_model_file(kVaeFile, "", ""), path("model/vae.safetensors"));
  EXPECT_EQ(load_text_to_video("").dit_path, path("model/dit.safetensors"));
  setenv(kModelDirEnv, path("empty").c_str(), 1);
  testing::expect_error([&] { load_text_to_video(""); }, "CUBIST_MODEL",
                        path("empty/dit.safetensors"));
  unsetenv(kModelDirEnv);
  const std::vector<std::string> dirs = default_model_dirs();
  ASSERT_GE(dirs.size(), 2u);
  EXPECT_EQ(dirs[0], "models/shapes");
  // A transformer trained on other latents than the autoencoder's.
  write_model(path("mixed"), 8);
  testing::write_tiny_vae(path("mixed/vae.safetensors"));
  testing::expect_error([&] { load_text_to_video(path("mixed")); }, "8 latent channels", "makes 4");
  // A transformer that records the encoder of its training latents (the tiny autoencoder of
  // seed 1, at f32 and bf16), beside another of the same shape: refused; beside it, taken.
  testing::write_tiny_vae(path("seed1.safetensors"), 1);
  const auto trained_on = load_vae(path("seed1.safetensors"));
  write_model(path("other"), 4, "a small red circle bouncing on a navy background",
              {{"vae_encoder", trained_on->encoder_fingerprint()},
               {"vae_encoder_bf16", trained_on->encoder_fingerprint_at_bf16()}});
  EXPECT_NO_THROW(load_text_to_video(path("other")));
  testing::write_tiny_vae(path("other/vae.safetensors"), 2);
  testing::expect_error([&] { load_text_to_video(path("other")); },
                        "is not the one whose latents", "was trained on");
}

TEST(VideoLatentShape, FollowsTheAutoencoderAndThePatch) {
  const DiTConfig dit = testing::tiny_dit_config();
  const VaeConfig vae = testing::tiny_vae_config();
  EXPECT_EQ(video_latent_shape(dit, vae, 9, 24, 16), (Dims{4, 3, 4, 6}));
  EXPECT_EQ(video_latent_shape(dit, vae, 1, 8, 8), (Dims{4, 1, 2, 2}));
  DiTConfig pt2 = dit;
  pt2.patch.t = 2;
  testing::expect_error([&] { video_latent_shape(pt2, vae, 9, 8, 8); }, "generate", "(5, 13, 21,");
  EXPECT_EQ(video_latent_shape(pt2, vae, 5, 8, 8), (Dims{4, 2, 2, 2}));
}

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string million(1000000, 'a');
  EXPECT_EQ(sha256_hex(million),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_THROW(sha256_file("/nonexistent/file"), Error);
}

}  // namespace
}  // namespace cubist
