// Tests of prompting with images and videos (pipeline/video_prompts.h), the modes of `cubist
// generate`, on a tiny random frame-conditioned model: each mode gives the right frame count and
// size, keeps its input frames byte for byte (the image as the autoencoder reproduces it), is
// repeatable from a seed, records its inputs in the provenance, and refuses every bad input with
// a message saying what is accepted.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "diffusion/condition.h"
#include "diffusion/video_sampling.h"
#include "io/safetensors.h"
#include "io/sha256.h"
#include "model_testing.h"
#include "pipeline/video_prompts.h"
#include "testing.h"
#include "train/dit_trainer.h"

namespace cubist {
namespace {

namespace fs = std::filesystem;

// A model folder: the tiny autoencoder (4x in time and space) and a tiny DiT after one training
// step (so that it predicts something), frame-conditioned unless told otherwise. `extra` goes
// into the DiT file's metadata.
void write_model(const std::string& dir, bool frame_conditioning = true,
                 const std::map<std::string, std::string>& extra = {}) {
  fs::create_directories(dir);
  testing::write_tiny_vae(dir + "/vae.safetensors");
  DiTConfig c = testing::tiny_dit_config();
  c.frame_conditioning = frame_conditioning;
  c.max_text_tokens = 12;
  DiTTrainer tr(c, text::Tokenizer::shapes_world(), {.adam = {.lr = 1e-2f}, .ema_decay = 0.9f});
  tr.step({testing::randn({4, 3, 4, 4}, 1)}, {"a small red circle bouncing on a navy background"});
  tr.save_weights(dir + "/dit.safetensors", extra);
}

bool same_frames(const Video& a, int64_t a0, const Video& b, int64_t b0, int64_t n) {
  if (a.width != b.width || a.height != b.height || a0 + n > a.frames || b0 + n > b.frames)
    return false;
  return std::equal(a.frame(a0), a.frame(a0 + n), b.frame(b0));
}

class VideoPrompts : public testing::TinyModelTest {
 protected:
  void SetUp() override {
    TinyModelTest::SetUp();
    write_model(path("model"));
    model_ = load_text_to_video(path("model"));
  }
  static VideoRequest request(int64_t frames = 0, uint64_t seed = 1) {
    VideoRequest r;
    r.prompt = "a red ball bouncing";
    r.width = 24, r.height = 16, r.frames = frames, r.steps = 2, r.seed = seed;
    return r;
  }
  // A video of `frames` frames written losslessly (a folder of PNG frames; .png for one frame).
  std::string input(const std::string& name, int64_t frames, int64_t width = 24,
                    int64_t height = 16) const {
    write_video(path(name), testing::smooth_video(frames, height, width, 8.0));
    return path(name);
  }
  VideoJob prepare(const MediaPrompt& m, const VideoRequest& r) const {
    return prepare_video_job(model_, r, m);
  }
  Video run(const MediaPrompt& m, const VideoRequest& r) const {
    return run_video_job(model_, prepare(m, r));
  }
  void expect_bad(const MediaPrompt& m, const VideoRequest& r, const std::string& op,
                  const std::string& part) const {
    testing::expect_error([&] { prepare(m, r); }, op, part);
  }

  TextToVideoModel model_;
};

TEST_F(VideoPrompts, TextInOneWindowIsPlainGeneration) {
  const VideoRequest r = request(9);
  const VideoJob job = prepare({}, r);
  EXPECT_EQ(job.mode, PromptMode::kText);
  EXPECT_EQ(job.window, kDefaultWindow);  // the test model records no training run
  EXPECT_EQ(job.windows, (std::vector<int64_t>{3}));
  int calls = 0;
  const Video v = run_video_job(model_, job, [&](int done, int total) {
    EXPECT_EQ(done, ++calls);
    EXPECT_EQ(total, 2);
  });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(v.rgb, generate(model_, r, prepare_request(model_, r)).rgb);
  EXPECT_EQ(prepare({}, request()).request.frames, kDefaultWindow);  // default: one window
}

// A window of many tokens is said to be slow before the first step, which would show its rate,
// with how long sampling will take.
TEST_F(VideoPrompts, AWindowOfManyTokensIsNotedAsSlow) {
  auto slow_note = [](const VideoJob& job) {
    return std::any_of(job.notes.begin(), job.notes.end(), [](const std::string& n) {
      return n.find("sampling will take about") != n.npos;
    });
  };
  EXPECT_FALSE(slow_note(prepare({}, request(5))));
  VideoRequest big = request(1);
  big.width = big.height = 1024;  // 128 x 128 patches of the tiny model's latents
  const VideoJob job = prepare({}, big);
  EXPECT_TRUE(slow_note(job));
  EXPECT_NE(job.notes.back().find("1 window of at most 16384 tokens, 2 steps"), std::string::npos)
      << job.notes.back();
  EXPECT_NE(job.notes.back().find("grows with their square"), std::string::npos);
  EXPECT_NE(job.notes.back().find("), decoding about "), std::string::npos) << job.notes.back();
}

TEST_F(VideoPrompts, LongVideosChainForwardExtensions) {
  MediaPrompt m;
  m.window = 9;  // 3 latent frames; an overlap of 2 leaves one new latent frame (4 frames) each
  m.overlap = 2;
  const VideoJob job = prepare(m, request(21));
  EXPECT_EQ(job.windows, (std::vector<int64_t>{3, 3, 3, 3}));
  int last = 0;
  const Video v = run_video_job(model_, job, [&](int done, int total) {
    EXPECT_EQ(done, last + 1);
    EXPECT_EQ(total, 8);
    last = done;
  });
  EXPECT_EQ(last, 8);
  EXPECT_EQ(v.frames, 21);
  EXPECT_EQ(v.width, 24);
  EXPECT_EQ(v.height, 16);
  // The first window is the 9-frame clip of the same seed: later windows only append.
  EXPECT_TRUE(same_frames(v, 0, run({}, request(9)), 0, 9));
  m.overlap.reset();  // the default, 1: 2 new latent frames (8 frames) a window
  EXPECT_EQ(prepare(m, request(25)).windows, (std::vector<int64_t>{3, 3, 3}));
  EXPECT_EQ(run(m, request(25)).frames, 25);
}

// A clip longer than a window, rebuilt from the library's parts: window 0 is the plain clip
// a0 a1 a2; window 1 holds the clip's last frame (decoded, encoded alone) and generates b1 b2;
// the video is a0 a1 a2 b1 b2 decoded in one pass, so that the decoder draws the step from one
// window into the next as it draws every other step.
TEST_F(VideoPrompts, ChainedWindowsAreDecodedAsOneSequence) {
  MediaPrompt m;
  m.window = 9;
  const VideoJob job = prepare(m, request(17));
  ASSERT_EQ(job.windows, (std::vector<int64_t>{3, 3}));
  const Video v = run_video_job(model_, job);
  GenerateOptions g;
  g.steps = job.request.steps;
  g.guidance = job.request.guidance;
  g.seed = job.request.seed;
  const Dims shape{4, 3, 4, 6};
  const Tensor a = generate_latents(*model_.dit, shape, job.prompt.ids, g);
  const Video clip = decode_latents(*model_.vae, a);
  Tensor known = Tensor::zeros(shape);
  known.slice(1, 0, 1).copy_(encode_video(*model_.vae, video_frames(clip, 8, 9)));
  const Tensor mask = frame_mask(3, 4, 6, {0});
  g.known = &known;
  g.known_mask = &mask;
  g.seed = window_seed(job.request.seed, 1);
  const Tensor b = generate_latents(*model_.dit, shape, job.prompt.ids, g);
  const Video whole = decode_latents(*model_.vae, join_latents({a, b.slice(1, 1, 3)}));
  ASSERT_EQ(v.frames, 17);
  EXPECT_EQ(v.rgb, whole.rgb);
  // Decoded window by window instead, the second window's frames differ.
  const Video apart = decode_latents(*model_.vae, b);
  EXPECT_FALSE(same_frames(v, 9, apart, 1, 8));
  EXPECT_TRUE(same_frames(v, 0, clip, 0, 9));  // the first window is the plain clip
}

TEST_F(VideoPrompts, ImageIsFrameZeroAsTheAutoencoderMakesIt) {
  MediaPrompt m;
  m.image = input("first.png", 1);
  const Video v = run(m, request(9));
  EXPECT_EQ(v.frames, 9);
  const Video image = read_video(m.image);
  const Video round_trip = decode_latents(*model_.vae, encode_video(*model_.vae, image));
  ASSERT_EQ(round_trip.frames, 1);
  EXPECT_TRUE(same_frames(v, 0, round_trip, 0, 1));
  EXPECT_FALSE(same_frames(v, 1, round_trip, 0, 1));
  // Another size is resized, with a note; a long clip from an image chains as text does.
  m.image = input("big.png", 1, 48, 32);
  m.window = 9;
  const VideoJob job = prepare(m, request(13));
  ASSERT_EQ(job.notes.size(), 1u);
  EXPECT_EQ(job.notes[0], "big.png: 48x32, resized to 24x16");
  EXPECT_EQ(job.windows.size(), 2u);
  const Video long_clip = run_video_job(model_, job);
  EXPECT_EQ(long_clip.frames, 13);
  EXPECT_EQ(long_clip.width, 24);
}

TEST_F(VideoPrompts, WithoutASizeTheInputsSizeIsKept) {
  // The tiny model takes multiples of 8 (4x space, 2x2 patches).
  VideoRequest r = request(9);
  r.width = r.height = 0;
  MediaPrompt m;
  m.image = input("big.png", 1, 48, 32);
  VideoJob job = prepare(m, r);
  EXPECT_EQ(job.request.width, 48);
  EXPECT_EQ(job.request.height, 32);
  EXPECT_EQ(job.notes,
            (std::vector<std::string>{"size 48x32, from big.png (--size sets another)"}));
  // A size the model does not take is rounded to the nearest it does, and the input resized.
  m.image.clear();
  m.extend = input("odd", 9, 30, 18);
  job = prepare(m, r);
  EXPECT_EQ(job.request.width, 32);
  EXPECT_EQ(job.request.height, 16);
  EXPECT_EQ(job.notes, (std::vector<std::string>{"size 32x16, from odd (--size sets another)",
                                                 "odd: 30x18, resized to 32x16"}));
  EXPECT_EQ(run_video_job(model_, job).width, 32);
  // Without an input: VideoRequest's default; half a size is refused.
  EXPECT_EQ(prepare({}, r).request.width, VideoRequest{}.width);
  EXPECT_EQ(prepare({}, r).request.height, VideoRequest{}.height);
  r.width = 24;
  expect_bad({}, r, "generate", "give both sides");
  r.width = 0;
  m.extend = path("missing.mp4");
  expect_bad(m, r, "missing.mp4", "no such file");
}

TEST_F(VideoPrompts, ExtendForwardKeepsTheInput) {
  MediaPrompt m;
  m.extend = input("in/", 9);
  const Video in = read_video(m.extend);
  const Video v = run(m, request());  // one window's new frames: 4 (5 - 1 latent frames) = 16
  EXPECT_EQ(v.frames, 9 + 16);
  EXPECT_TRUE(same_frames(v, 0, in, 0, 9));
  // Any number of new frames: the surplus of the last window is dropped.
  m.window = 9;
  m.overlap = 2;
  const VideoJob job = prepare(m, request(10));
  EXPECT_EQ(job.windows, (std::vector<int64_t>{3, 3, 3}));
  const Video longer = run_video_job(model_, job);
  EXPECT_EQ(longer.frames, 19);
  EXPECT_TRUE(same_frames(longer, 0, in, 0, 9));
  EXPECT_EQ(longer.width, 24);
  EXPECT_EQ(longer.height, 16);

  // Rebuilt from the library's parts (one latent frame of overlap, two windows): the new frames
  // are the first window's held latent frame and every window's new ones, decoded as one
  // sequence, less the held frame and the surplus.
  m.overlap.reset();
  const VideoJob two = prepare(m, request(10));
  ASSERT_EQ(two.windows, (std::vector<int64_t>{3, 2}));  // the last as long as it needs
  const Video chained = run_video_job(model_, two);
  ASSERT_EQ(chained.frames, 19);
  GenerateOptions g;
  g.steps = two.request.steps;
  g.guidance = two.request.guidance;
  auto window = [&](const Video& past, int64_t i, int64_t L) {
    const Dims shape{4, L, 4, 6};
    Tensor known = Tensor::zeros(shape);
    known.slice(1, 0, 1).copy_(
        encode_video(*model_.vae, video_frames(past, past.frames - 1, past.frames)));
    const Tensor mask = frame_mask(L, 4, 6, {0});
    g.known = &known;
    g.known_mask = &mask;
    g.seed = window_seed(two.request.seed, i);
    return generate_latents(*model_.dit, shape, two.prompt.ids, g);
  };
  const Tensor z0 = window(in, 0, 3);
  const Video w0 = decode_latents(*model_.vae, z0);
  const Video first_new = video_frames(w0, 1, 9);
  const Video so_far = join_videos({&in, &first_new});
  const Tensor z1 = window(so_far, 1, 2);
  const Video whole =
      decode_latents(*model_.vae, join_latents({z0, z1.slice(1, 1, 2)}));  // 4 latent frames
  EXPECT_TRUE(same_frames(chained, 0, in, 0, 9));
  EXPECT_TRUE(same_frames(chained, 9, whole, 1, 10));
}

TEST_F(VideoPrompts, ExtendBackwardPrependsAndKeepsTheInput) {
  MediaPrompt m;
  m.extend = input("in/", 5);
  m.direction = "backward";
  m.overlap = 2;
  const VideoJob job = prepare(m, request());
  EXPECT_TRUE(job.backward);
  EXPECT_EQ(job.new_frames, 9);  // 1 + 4 (5 - 2 - 1): the held latent frames stand for 8 frames
  const Video in = read_video(m.extend);
  const Video v = run_video_job(model_, job);
  EXPECT_EQ(v.frames, 14);
  EXPECT_TRUE(same_frames(v, 9, in, 0, 5));
  const Video more = run(m, request(12));  // two windows, the far end cropped
  EXPECT_EQ(more.frames, 17);
  EXPECT_TRUE(same_frames(more, 12, in, 0, 5));
  EXPECT_TRUE(same_frames(more, 3, v, 0, 9));  // the first window is the same
}

// The loop as docs/DIT.md describes it, rebuilt from the library's parts: a cycle q of N / 4
// latent frames sampled through windows of the model's length (5 latent frames; of the cycle's
// own when shorter), decoded after q(M-1) and one turn of q, and cut 3 frames into a latent
// frame's span.
TEST_F(VideoPrompts, LoopIsACycleSampledWholeAndDecodedAsItPlaysRound) {
  MediaPrompt m;
  m.loop = true;
  EXPECT_EQ(prepare(m, request(0)).request.frames, 4 * kDefaultLoopLatentFrames);
  for (const int64_t N : {24, 12}) {
    const VideoJob job = prepare(m, request(N));
    const int64_t M = N / 4;
    EXPECT_EQ(job.windows, (std::vector<int64_t>{M}));
    EXPECT_EQ(job.request.frames, N);
    const Video v = run_video_job(model_, job);
    ASSERT_EQ(v.frames, N);

    GenerateOptions g;
    g.steps = job.request.steps;
    g.guidance = job.request.guidance;
    g.seed = job.request.seed;
    g.cycle_window = std::min<int64_t>(5, M);
    const Tensor q = generate_latents(*model_.dit, {4, M, 4, 6}, job.prompt.ids, g);
    Tensor chain = Tensor::zeros({4, 2 * M + 2, 4, 6});  // q(M-1), q, q, q0
    chain.slice(1, 0, 1).copy_(q.slice(1, M - 1, M));
    chain.slice(1, 1, M + 1).copy_(q);
    chain.slice(1, M + 1, 2 * M + 1).copy_(q);
    chain.slice(1, 2 * M + 1, 2 * M + 2).copy_(q.slice(1, 0, 1));
    const Video round = decode_latents(*model_.vae, chain);
    EXPECT_TRUE(same_frames(v, 0, round, 1 + N + 3, N));
    EXPECT_FALSE(same_frames(v, 0, round, 1 + 3, N));  // the second turn, not the first
  }
}

// Seam guidance (backward extension and connection, on by default): the guide sees the
// held latent frames as given, the input is still kept byte for byte, 0 turns it off, and it is
// recorded in the provenance.
TEST_F(VideoPrompts, SeamGuidanceLeadsIntoTheInputAndKeepsIt) {
  MediaPrompt m;
  m.extend = input("in/", 5);
  m.direction = "backward";
  const Video in = read_video(m.extend);
  const VideoJob job = prepare(m, request(4));
  EXPECT_EQ(job.seam_guidance, kDefaultSeamGuidance);
  EXPECT_EQ(job_provenance(model_, job, false)["seam_guidance"], kDefaultSeamGuidance);
  const Video guided = run_video_job(model_, job);
  EXPECT_TRUE(same_frames(guided, 4, in, 0, 5));
  m.seam_guidance = 0.0f;
  const VideoJob plain_job = prepare(m, request(4));
  EXPECT_FALSE(job_provenance(model_, plain_job, false).contains("seam_guidance"));
  const Video plain = run_video_job(model_, plain_job);
  EXPECT_TRUE(same_frames(plain, 4, in, 0, 5));
  EXPECT_FALSE(same_frames(plain, 0, guided, 0, 4));
  m.direction.reset();
  m.seam_guidance.reset();
  EXPECT_EQ(prepare(m, request(4)).seam_guidance, 0.0f);  // forward: nothing to lead into
  m = {};
  m.loop = true;  // a cycle: nothing held to lead into
  EXPECT_EQ(prepare(m, request(28)).seam_guidance, 0.0f);

  // The library hands the guide the held frames exactly as given.
  GenerateOptions g;
  g.steps = 2;
  g.seed = 3;
  const Dims shape{4, 3, 4, 6};
  const Tensor known = testing::randn(shape, 4), mask = frame_mask(3, 4, 6, {2});
  g.known = &known;
  g.known_mask = &mask;
  g.guide_scale = 1.0f;
  float worst = 0.0f;
  g.guide = [&](const Tensor& clean) {
    const Tensor a = clean.slice(1, 2, 3).contiguous(), b = known.slice(1, 2, 3).contiguous();
    for (int64_t i = 0; i < a.numel(); ++i)
      worst = std::max(worst, std::abs(a.data<float>()[i] - b.data<float>()[i]));
    return Tensor::zeros(shape);
  };
  generate_latents(*model_.dit, shape, {3, 4}, g);
  EXPECT_LT(worst, 1e-5f);
}

TEST_F(VideoPrompts, ConnectKeepsBothVideos) {
  MediaPrompt m;
  m.connect_from = input("a/", 9);
  m.connect_to = input("b.mp4", 5);
  const Video a = read_video(m.connect_from), b = read_video(m.connect_to);
  const Video v = run(m, request());
  EXPECT_EQ(v.frames, 9 + 12 + 5);  // a passage of 4 (5 - 2 * 1) new frames
  EXPECT_TRUE(same_frames(v, 0, a, 0, 9));
  EXPECT_TRUE(same_frames(v, 21, b, 0, 5));
  m.overlap = 2;
  const Video shorter = run(m, request());
  EXPECT_EQ(shorter.frames, 9 + 4 + 5);
  EXPECT_TRUE(same_frames(shorter, 13, b, 0, 5));
}

TEST_F(VideoPrompts, EditRedoesTheInput) {
  MediaPrompt m;
  m.edit = input("in/", 5);
  const VideoJob job = prepare(m, request());
  EXPECT_EQ(job.strength, kDefaultStrength);
  const Video v = run_video_job(model_, job);
  EXPECT_EQ(v.frames, 5);
  EXPECT_EQ(v.width, 24);
  m.strength = 0.2f;
  const Video light = run(m, request());
  EXPECT_EQ(light.frames, 5);
  EXPECT_NE(light.rgb, v.rgb);
  // Strength 1 ignores the input: plain generation from the seed.
  m.strength = 1.0f;
  EXPECT_EQ(run(m, request()).rgb, run({}, request(5)).rgb);
}

// With a source prompt the edit is FlowEdit: under the same prompt and seed expansion, the input
// comes back as the autoencoder draws it, where SDEdit at that strength redraws it. Recorded.
TEST_F(VideoPrompts, FlowEditKeepsWhatThePromptsAgreeOn) {
  MediaPrompt m;
  m.edit = input("in/", 5);
  m.source = request().prompt;
  const VideoJob job = prepare(m, request());
  EXPECT_EQ(job.strength, kDefaultFlowEditStrength);
  ASSERT_TRUE(job.source.has_value());
  EXPECT_EQ(job.source->conditioned, job.prompt.conditioned);
  const Video same = run_video_job(model_, job);
  const Video round = decode_latents(*model_.vae, encode_video(*model_.vae, read_video(m.edit)));
  ASSERT_EQ(same.rgb.size(), round.rgb.size());
  auto worst = [&](const Video& v) {
    int w = 0;
    for (size_t i = 0; i < v.rgb.size(); ++i)
      w = std::max(w, std::abs(int{v.rgb[i]} - int{round.rgb[i]}));
    return w;
  };
  EXPECT_LE(worst(same), 1);
  MediaPrompt sd = m;
  sd.source.reset();
  sd.strength = kDefaultFlowEditStrength;
  EXPECT_GT(worst(run(sd, request())), 20);
  m.source = "a blue square moving left on a gray background";
  m.strength = 0.9f;

  const nlohmann::ordered_json j = job_provenance(model_, prepare(m, request()), false);
  EXPECT_EQ(j.at("edit"), "flowedit");
  EXPECT_EQ(j.at("source_prompt"), "a blue square moving left on a gray background");
  EXPECT_EQ(j.at("strength"), 0.9);  // as typed, not the float's double
  m.source.reset();
  m.strength.reset();
  EXPECT_EQ(job_provenance(model_, prepare(m, request()), false).at("edit"), "sdedit");

  m.source = "  ";
  expect_bad(m, request(), "--source-prompt is empty", "leave it out to edit by SDEdit");
  m.source = "a purple ball";
  expect_bad(m, request(), "--source-prompt: ", "unknown word \"purple\"");
  MediaPrompt t;
  t.source = "a red ball";
  testing::expect_error([&] { prompt_mode(t); }, "--source-prompt applies to --edit only", "");
}

TEST_F(VideoPrompts, SameSeedSameBytesAndProvenance) {
  MediaPrompt m;
  m.extend = input("in/", 9);
  m.window = 9;
  auto make = [&](uint64_t seed, const std::string& out) {
    const VideoJob job = prepare(m, request(6, seed));
    write_generated(out, run_video_job(model_, job), job_provenance(model_, job));
  };
  make(3, path("a.mp4"));
  mallopt(M_PERTURB, 0x5a);  // b over other heap leftovers: CI once wrote other bytes (x264_cpu.h)
  make(3, path("b.mp4"));
  mallopt(M_PERTURB, 0);
  make(4, path("c.mp4"));
  const std::string a = testing::file_bytes(path("a.mp4"));
  EXPECT_GT(a.size(), 100u);
  EXPECT_EQ(a, testing::file_bytes(path("b.mp4")));
  EXPECT_NE(a, testing::file_bytes(path("c.mp4")));

  std::ifstream in(path("a.mp4.json"));
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("mode"), "extend");
  EXPECT_EQ(j.at("direction"), "forward");
  EXPECT_EQ(j.at("overlap"), kDefaultOverlap);
  EXPECT_EQ(j.at("window"), 9);
  EXPECT_EQ(j.at("new_frames"), 6);
  EXPECT_EQ(j.at("frames"), 15);
  ASSERT_EQ(j.at("inputs").size(), 1u);
  EXPECT_EQ(j.at("inputs")[0].at("role"), "video");
  EXPECT_EQ(j.at("inputs")[0].at("file"), "in");
  EXPECT_EQ(j.at("inputs")[0].at("sha256").get<std::string>().size(), 64u);
  EXPECT_EQ(j.at("utc_time").get<std::string>().size(), 20u);
  EXPECT_EQ(probe_video(path("a.mp4")).frames, 15);

  MediaPrompt e;
  e.edit = input("clip.mp4", 5);
  e.strength = 0.5f;
  const nlohmann::ordered_json edit = job_provenance(model_, prepare(e, request()), false);
  EXPECT_EQ(edit.at("mode"), "edit");
  EXPECT_EQ(edit.at("strength"), 0.5);
  EXPECT_EQ(edit.at("inputs")[0].at("sha256"), sha256_file(e.edit));
  EXPECT_FALSE(edit.contains("utc_time"));
  EXPECT_FALSE(edit.contains("window"));
  MediaPrompt i;
  i.image = input("first.png", 1);
  EXPECT_EQ(job_provenance(model_, prepare(i, request(5))).at("inputs")[0].at("role"), "image");
  MediaPrompt c;
  c.connect_from = input("a/", 5);
  c.connect_to = input("b/", 9);
  const nlohmann::ordered_json conn = job_provenance(model_, prepare(c, request()));
  EXPECT_EQ(conn.at("inputs")[1].at("role"), "to");
  EXPECT_NE(conn.at("inputs")[0].at("sha256"), conn.at("inputs")[1].at("sha256"));
}

TEST_F(VideoPrompts, InputsAreReadAt8FpsAndTheImageIsAFirstFrame) {
  write_video(path("fast/"), testing::smooth_video(10, 16, 24, 16.0));
  MediaPrompt m;
  m.edit = path("fast/");
  const VideoJob job = prepare(m, request());
  ASSERT_EQ(job.notes.size(), 1u);
  EXPECT_EQ(job.notes[0], "fast: 16 fps, read at 8 fps (5 frames)");
  EXPECT_EQ(job.request.frames, 5);
  EXPECT_EQ(job_provenance(model_, job).at("notes")[0], job.notes[0]);
  m = {};
  m.image = input("clip/", 5);
  const VideoJob image = prepare(m, request(5));
  ASSERT_EQ(image.notes.size(), 1u);
  EXPECT_EQ(image.notes[0], "clip: 5 frames; its first frame is the image");
  EXPECT_EQ(image.inputs[0].frames, 1);
}

TEST_F(VideoPrompts, ImagesAsPng) {
  check_output_path(path("x.png"), 1);
  testing::expect_error([&] { check_output_path(path("x.png"), 5); }, "a .png holds one frame",
                        "--frames 1");
  testing::expect_error([&] { check_output_path(path("x.avi"), 1); }, "x.avi", ".mp4");
  const VideoJob job = prepare({}, request(1));
  write_generated(path("x.png"), run_video_job(model_, job), job_provenance(model_, job));
  const Video back = read_video(path("x.png"));
  EXPECT_EQ(back.frames, 1);
  EXPECT_EQ(back.width, 24);
  EXPECT_TRUE(fs::exists(path("x.png.json")));
}

TEST_F(VideoPrompts, ConflictingOptionsAreRefused) {
  MediaPrompt m;
  m.image = "a.png";
  m.extend = "b.mp4";
  testing::expect_error([&] { prompt_mode(m); }, "--image and --extend ask for two modes",
                        "give at most one of --image, --extend, --loop, --connect, --edit");
  m = {};
  m.loop = true;
  m.edit = "x.mp4";
  testing::expect_error([&] { prompt_mode(m); }, "--loop and --edit", "at most one");
  m = {};
  m.connect_from = "a.mp4";
  testing::expect_error([&] { prompt_mode(m); }, "--connect takes two videos", "A and B");
  m = {};
  m.direction = "forward";
  testing::expect_error([&] { prompt_mode(m); }, "--direction applies to --extend only", "");
  m.extend = "in.mp4";
  m.direction = "sideways";
  testing::expect_error([&] { prompt_mode(m); }, "--direction 'sideways'",
                        "accepted: forward (add after the video's end) or backward");
  m = {};
  m.strength = 0.5f;
  testing::expect_error([&] { prompt_mode(m); }, "--strength applies to --edit only", "");
  m.edit = "in.mp4";
  for (float s : {0.0f, -0.5f, 1.5f, std::nanf("")}) {
    m.strength = s;
    testing::expect_error([&] { prompt_mode(m); }, "is outside (0, 1]", "0 < S <= 1");
  }
  m.strength = 1.0f;
  m.overlap = 1;
  testing::expect_error([&] { prompt_mode(m); }, "--edit redoes the whole input",
                        "--overlap and --window do not apply");
}

TEST_F(VideoPrompts, BadInputsSayWhatIsAccepted) {
  MediaPrompt m;
  // Frame counts the autoencoder cannot take.
  expect_bad(m, request(10), "generate", "1 + 4k frames (1, 5, 9, 13, 17, ...); nearest: 9 or 13");
  m.window = 10;
  expect_bad(m, request(9), "a window of 10 frames", "nearest: 9 or 13");
  m.window = 1;
  expect_bad(m, request(9), "a window of 1 frames", "at least 2 latent frames (5 frames or more");
  // Overlaps the window cannot hold.
  m.window = 9;
  m.overlap = 3;
  expect_bad(m, request(21), "an overlap of 3 latent frames", "takes 1 to 2");
  m.overlap = 0;
  expect_bad(m, request(21), "an overlap of 0", "1 to 2");
  m = {};
  m.connect_from = m.connect_to = input("in/", 5);
  m.overlap = 3;
  expect_bad(m, request(0), "--connect takes 1 to 2", "both ends are held");
  m.window = 5;
  m.overlap.reset();
  expect_bad(m, request(0), "too short to hold both ends", "--window 9 or more");
  m = {};
  m.loop = true;
  m.overlap = 2;
  expect_bad(m, request(28), "--loop samples the loop as one cycle, with no overlap",
             "leave out --overlap");
  m.overlap.reset();
  m.seam_guidance = 2.0f;
  expect_bad(m, request(28),
             "--seam-guidance applies to --extend IN --direction backward and --connect", "");
  m = {};
  m.seam_guidance = 2.0f;
  expect_bad(m, request(17),
             "--seam-guidance applies to --extend IN --direction backward and --connect", "");
  m = {};
  m.extend = input("in/", 5);
  m.direction = "backward";
  m.seam_guidance = -1.0f;
  expect_bad(m, request(4), "--seam-guidance -1", "accepted: 0 (none) or more (default 4)");
  m = {};
  m.loop = true;
  expect_bad(m, request(17), "--loop of 17 frames;",
             "a loop is a cycle of latent frames, 4 video frames each, so its length is a "
             "multiple of 4, at least 8 (nearest: 16 or 20)");
  expect_bad(m, request(4), "--loop of 4 frames;", "at least 8 (nearest: 8)");
  // Images.
  m = {};
  m.image = input("first.png", 1);
  expect_bad(m, request(1), "--image with 1 frame leaves nothing to generate", "5 frames or more");
  m.image = path("missing.png");
  expect_bad(m, request(5), "missing.png", "");
  // Videos too short for the overlap.
  m = {};
  m.extend = input("short/", 3);
  m.overlap = 2;
  expect_bad(m, request(), "has 3 frames; an overlap of 2 latent frames holds its last 5 frames",
             "a smaller --overlap (1 needs one frame)");
  m.direction = "backward";
  expect_bad(m, request(), "holds its first 5 frames", "at least 5");
  m.overlap = 1;
  EXPECT_EQ(prepare(m, request()).overlap, 1);
  m = {};
  m.extend = input("short/", 3);
  m.direction = "forward";
  m.window = 5;  // 2 latent frames: the default overlap shrinks to 1
  EXPECT_EQ(prepare(m, request()).overlap, 1);
  m = {};
  m.connect_from = input("a/", 5);
  m.connect_to = path("short/");
  m.overlap = 2;
  expect_bad(m, request(), "short/ has 3 frames", "holds its first 5");
  expect_bad(m, request(9), "--connect makes one window's passage (4 frames", "--window");
  // Edit: frames the autoencoder takes, and no --frames.
  m = {};
  m.edit = input("ten/", 10);
  expect_bad(m, request(), "has 10 frames; the autoencoder takes 1 + 4k frames",
             "(nearest: 9 or 13); trim the video");
  m.edit = input("five/", 5);
  expect_bad(m, request(9), "--edit keeps the input's frame count", "leave out --frames");
  // Sizes the model cannot make (before any input is read).
  VideoRequest r = request();
  r.width = 20;
  expect_bad(m, r, "generate", "nearest: 16x16 or 24x16");
  // Extension frame counts.
  m = {};
  m.extend = input("in/", 5);
  expect_bad(m, request(-2), "--frames -2 with --extend", "1 or more");
}

TEST_F(VideoPrompts, ModelWithoutFrameConditioningRefuses) {
  write_model(path("plain"), false);
  const TextToVideoModel plain = load_text_to_video(path("plain"));
  MediaPrompt m;
  m.image = input("first.png", 1);
  testing::expect_error([&] { prepare_video_job(plain, request(5), m); },
                        "trained without frame conditioning", "\"frame_conditioning\": true");
  m = {};
  m.loop = true;  // a cycle holds no frames: a text-only model makes loops
  EXPECT_EQ(run_video_job(plain, prepare_video_job(plain, request(12), m)).frames, 12);
  testing::expect_error([&] { prepare_video_job(plain, request(21), {}); },
                        "trained without frame conditioning",
                        "a video longer than one window (17 frames) continues its first window "
                        "that way: ask for at most 17 frames");
  // The library's own check, for callers that skip preparation.
  GenerateOptions g;
  const Tensor known = Tensor::zeros({4, 2, 4, 6}), mask = frame_mask(2, 4, 6, {0});
  g.known = &known;
  g.known_mask = &mask;
  testing::expect_error(
      [&] {
        generate_latents(*plain.dit, {4, 2, 4, 6}, {1}, g);
      },
      "trained without frame conditioning", "\"frame_conditioning\": true");
  // Text alone and SDEdit need no frame conditioning.
  EXPECT_EQ(run_video_job(plain, prepare_video_job(plain, request(5), {})).frames, 5);
  m = {};
  m.edit = input("in/", 5);
  EXPECT_EQ(run_video_job(plain, prepare_video_job(plain, request(), m)).frames, 5);
}

TEST_F(VideoPrompts, WindowFromTheTrainingRun) {
  write_model(path("run"), true, {{"run_config", R"({"train": {"sample_frames": 9}})"}});
  const TextToVideoModel run_model = load_text_to_video(path("run"));
  EXPECT_EQ(run_model.trained_frames, 9);
  EXPECT_EQ(default_window(run_model), 9);
  EXPECT_EQ(prepare_video_job(run_model, request(), {}).request.frames, 9);
  write_model(path("image"), true, {{"run_config", R"({"train": {"sample_frames": 1}})"}});
  EXPECT_EQ(default_window(load_text_to_video(path("image"))), kDefaultWindow);
  EXPECT_EQ(model_.trained_frames, 0);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const Tensor x = a.contiguous(), y = b.contiguous();
  double worst = 0;
  for (int64_t i = 0; i < std::min(x.numel(), y.numel()); ++i)
    worst = std::max(worst, std::abs(double(x.data<float>()[i]) - y.data<float>()[i]));
  return worst;
}

// Held at a window's end, a video's first 4K frames are K latent frames of four frames each: the
// encoding of the video behind a copy of its frame 0, less that copy's lone latent frame.
TEST_F(VideoPrompts, HeldEndsAreLatentFramesOfFourFrames) {
  const Vae& vae = *model_.vae;
  const Video v = testing::smooth_video(9, 16, 24, 8.0);
  const Video first = video_frames(v, 0, 1), eight = video_frames(v, 0, 8);
  const Tensor tail = encode_tail(vae, v, 2);
  ASSERT_EQ(tail.shape(), (Dims{4, 2, 4, 6}));
  const Tensor behind = encode_video(vae, join_videos({&first, &eight}));
  EXPECT_EQ(max_abs_diff(tail, behind.slice(1, 1, 3)), 0.0);
  // Not the frames encoded on their own (whose first latent frame is frame 0's alone).
  const Tensor alone = encode_video(vae, video_frames(v, 0, 5));
  EXPECT_GT(max_abs_diff(tail.slice(1, 0, 1), alone.slice(1, 0, 1)), 1e-3);
  // Causal: a shorter tail is the start of a longer one.
  EXPECT_LT(max_abs_diff(encode_tail(vae, v, 1), tail.slice(1, 0, 1)), 1e-5);
  // A short video is padded with its last frame.
  const Video three = video_frames(v, 0, 3), last = video_frames(v, 2, 3);
  const Video padded = join_videos({&three, &last, &last, &last, &last, &last});
  EXPECT_EQ(max_abs_diff(encode_tail(vae, three, 2), encode_tail(vae, padded, 2)), 0.0);
}

TEST(VideoPromptHelpers, FramesJoinAndSeeds) {
  const Video v = testing::smooth_video(6, 4, 8, 8.0);
  const Video a = video_frames(v, 0, 2), b = video_frames(v, 2, 6);
  EXPECT_EQ(a.frames, 2);
  EXPECT_EQ(join_videos({&a, &b}).rgb, v.rgb);
  EXPECT_THROW(video_frames(v, 4, 7), Error);
  const Video other(1, 4, 6);
  EXPECT_THROW(join_videos({&a, &other}), Error);
  EXPECT_EQ(window_seed(5, 0), 5u);
  EXPECT_NE(window_seed(5, 1), window_seed(6, 1));
  EXPECT_NE(window_seed(5, 1), 6u);
  const VaeConfig vae = testing::tiny_vae_config();
  EXPECT_EQ(nearest_frame_counts(vae, 1, 10), "9 or 13");
  EXPECT_EQ(nearest_frame_counts(vae, 1, 0), "1");
  EXPECT_EQ(nearest_frame_counts(vae, 2, 9), "5 or 13");
  EXPECT_EQ(nearest_frame_counts(vae, 1, 1000000001), "1000000001");
}

}  // namespace
}  // namespace cubist
