// Tests of the video autoencoder (src/models/vae): config parsing and its errors, shapes and the
// 1 + (T-1)/tf rule, causality, chunked encode/decode equal to one pass, the posterior's
// gradients, the whole network against the PyTorch reference (tests/torch_ref/ops_vae.py) on the
// same weights, checkpoints, a tiny model that overfits one clip, refined encoding, and spatial
// tiling.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "autograd/basic.h"
#include "autograd/loss.h"
#include "core/allocator.h"
#include "core/parallel.h"
#include "models/vae/latent_io.h"
#include "models/vae/refine.h"
#include "models/vae/tiling.h"
#include "models/vae/vae.h"
#include "testing.h"
#include "train/adamw.h"
#include "video_testing.h"

namespace cubist {
namespace {

using testing::expect_close;
using testing::randn;

// The tiny models' layers are so small that OpenMP's barriers cost more than they save (on a
// loaded machine, many times more): the slow tests run them on one thread.
class OneThread {
 public:
  OneThread() : threads_(num_threads()) { set_num_threads(1); }
  ~OneThread() { set_num_threads(threads_); }

 private:
  int threads_;
};

// Four-fold in time and space, 4 latent channels, 8..16 channels: runs in milliseconds.
VaeConfig tiny() {
  return VaeConfig::from_json(nlohmann::json::parse(R"({
    "latent_channels": 4, "channels": 8, "channel_multipliers": [1, 2, 2],
    "blocks_per_level": 1, "mid_blocks": 1, "spatial_factor": 4, "temporal_downsample": [0, 1],
    "groups": 4})"));
}

// Moves every parameter away from its initial value (norm gains 1, biases 0) so that a test
// sees each of them.
void perturb(Vae& vae, uint64_t seed) {
  for (NamedParam& p : vae.parameters()) {
    const Tensor noise = randn(p.var.shape(), seed++, 0.1f);
    float* d = p.var.value().data<float>();
    const float* n = noise.data<float>();
    for (int64_t i = 0; i < noise.numel(); ++i) d[i] += n[i];
  }
}

TEST(VaeConfig, DefaultIsFourByEightByEightBySixteen) {
  const VaeConfig c;
  EXPECT_NO_THROW(c.validate());
  EXPECT_EQ(c.temporal_factor(), 4);
  EXPECT_EQ(c.spatial_factor, 8);
  EXPECT_EQ(c.latent_channels, 16);
  EXPECT_EQ(c.summary(), "4x8x8x16");
  for (int64_t t : {1, 5, 9, 17, 33}) EXPECT_EQ(c.latent_frames(t), 1 + (t - 1) / 4);
  EXPECT_EQ(VaeConfig::from_json(c.to_json()), c);
}

TEST(VaeConfig, ConfigFilesParse) {
  for (const char* name : {"tiny.json", "shapes.json"}) {
    const std::string path = std::string(CUBIST_SOURCE_DIR) + "/configs/vae/" + name;
    EXPECT_NO_THROW(VaeConfig::from_file(path)) << path;
  }
  EXPECT_EQ(VaeConfig::from_file(std::string(CUBIST_SOURCE_DIR) + "/configs/vae/shapes.json"),
            VaeConfig());
}

TEST(VaeConfig, BadConfigsSayWhatIsWrong) {
  auto parse = [](const char* text) {
    return testing::error_message([&] { VaeConfig::from_json(nlohmann::json::parse(text)); });
  };
  EXPECT_NE(parse(R"({"chanels": 8})").find("unknown key \"chanels\" (accepted: in_channels,"),
            std::string::npos);
  EXPECT_NE(parse(R"({"spatial_factor": 6})").find("power of two"), std::string::npos);
  EXPECT_NE(parse(R"({"spatial_factor": 16})").find("needs 4 transitions"), std::string::npos);
  EXPECT_NE(parse(R"({"temporal_downsample": [0, 3]})").find("transitions 0..2"),
            std::string::npos);
  EXPECT_NE(parse(R"({"groups": 7})").find("must divide"), std::string::npos);
  EXPECT_NE(parse(R"({"channels": "many"})").find("wrong type"), std::string::npos);
}

TEST(Vae, ShapesFollowTheFactors) {
  Generator gen(1);
  const VaeConfig c = tiny();
  Vae vae(c, gen);
  NoGrad ng;
  for (int64_t T : {1, 5, 9, 13}) {
    const Posterior p = vae.encode(Var(randn({1, 3, T, 16, 12}, T)));
    EXPECT_EQ(p.mean.shape(), (Dims{1, 4, 1 + (T - 1) / 4, 4, 3}));
    EXPECT_EQ(p.logvar.shape(), p.mean.shape());
    EXPECT_EQ(vae.decode(p.mean).shape(), (Dims{1, 3, T, 16, 12}));
  }
}

TEST(Vae, BadFramesAndSizesAreRefusedClearly) {
  Generator gen(1);
  Vae vae(tiny(), gen);
  NoGrad ng;
  const std::string frames = testing::error_message([&] {
    vae.encode(Var(randn({1, 3, 8, 16, 16}, 1)));
  });
  EXPECT_NE(frames.find("8 frames"), std::string::npos) << frames;
  EXPECT_NE(frames.find("1 + 4k"), std::string::npos) << frames;
  const std::string size = testing::error_message([&] {
    vae.encode(Var(randn({1, 3, 5, 16, 18}, 1)));
  });
  EXPECT_NE(size.find("multiples of 4"), std::string::npos) << size;
  const std::string channels = testing::error_message([&] {
    vae.decode(Var(randn({1, 3, 2, 4, 4}, 1)));
  });
  EXPECT_NE(channels.find("expects [B, 4"), std::string::npos) << channels;
}

// Frame t's latent and reconstruction depend only on frames <= t: changing the last frames leaves
// earlier outputs bitwise alone, and a still image encodes like the first frame of a video.
TEST(Vae, IsCausalInTime) {
  Generator gen(2);
  Vae vae(tiny(), gen);
  perturb(vae, 5);
  NoGrad ng;
  const Tensor a = randn({1, 3, 9, 8, 8}, 3);
  Tensor b = a.clone();
  b.slice(2, 5, 9).copy_(randn({1, 3, 4, 8, 8}, 4));  // frames 5..8: latent frame 2 only
  const Tensor za = vae.encode(Var(a)).mean.value(), zb = vae.encode(Var(b)).mean.value();
  expect_close(zb.slice(2, 0, 2).contiguous(), za.slice(2, 0, 2).contiguous(), 0, 0, "latents");
  const Tensor image = vae.encode(Var(a.slice(2, 0, 1).contiguous())).mean.value();
  expect_close(image, za.slice(2, 0, 1).contiguous(), 1e-5f, 1e-6f, "image latent");
  Tensor zc = za.clone();
  zc.slice(2, 2, 3).copy_(randn({1, 4, 1, 2, 2}, 6));
  const Tensor da = vae.decode(Var(za)).value(), dc = vae.decode(Var(zc)).value();
  expect_close(dc.slice(2, 0, 5).contiguous(), da.slice(2, 0, 5).contiguous(), 0, 0, "frames");
}

TEST(Vae, ChunkedEqualsOnePass) {
  Generator gen(3);
  Vae vae(tiny(), gen);
  perturb(vae, 9);
  const Tensor x = randn({1, 3, 17, 8, 12}, 11);
  const Tensor z = vae.encode_mean(x);
  for (int64_t chunk : {4, 8}) expect_close(vae.encode_mean(x, chunk), z, 1e-4f, 1e-5f, "encode");
  const Tensor d = vae.decode_chunked(z, 100);
  EXPECT_EQ(d.shape(), (Dims{1, 3, 17, 8, 12}));
  for (int64_t chunk : {1, 2, 3})
    expect_close(vae.decode_chunked(z, chunk), d, 1e-4f, 1e-5f, "decode");
  EXPECT_THROW(vae.encode_mean(x, 3), Error);  // not a multiple of the temporal factor
}

TEST(Vae, PosteriorGradients) {
  const Var mean(randn({2, 3, 4}, 1), true), logvar(randn({2, 3, 4}, 2), true);
  const Tensor eps = randn({2, 3, 4}, 3);
  testing::gradcheck([&](const std::vector<Var>& v) { return sample_posterior(v[0], v[1], eps); },
                     {mean, logvar});
  testing::gradcheck([](const std::vector<Var>& v) { return kl_divergence(v[0], v[1]); },
                     {Var(randn({2, 3, 4}, 4), true), Var(randn({2, 3, 4}, 5), true)});
  EXPECT_THROW(sample_posterior(mean, logvar, randn({2, 3}, 1)), Error);
  EXPECT_THROW(kl_divergence(mean, Var(randn({3, 2, 4}, 1))), Error);
}

TEST(Vae, PosteriorMatchesPyTorch) {
  const Var mean(randn({2, 3, 4}, 1), true), logvar(randn({2, 3, 4}, 2, 2.0f), true);
  const Tensor eps = randn({2, 3, 4}, 3), gz = randn({2, 3, 4}, 4);
  const float gkl = 0.7f;
  auto ref = testing::torch_reference(
      "vae_posterior",
      {{"mean", mean.value()}, {"logvar", logvar.value()}, {"eps", eps}, {"gz", gz}},
      {{"gkl", "0.7"}});
  TORCH_OR_SKIP(ref);
  const Var z = sample_posterior(mean, logvar, eps);
  const Var kl = kl_divergence(mean, logvar);
  add(sum(mul(z, Var(gz))), scale(kl, gkl)).backward();
  expect_close(z.value(), ref->at("z"), 1e-5f, 1e-6f, "z");
  expect_close(kl.value(), ref->at("kl"), 1e-5f, 1e-6f, "kl");
  expect_close(mean.grad(), ref->at("grad_mean"), 1e-5f, 1e-6f, "grad mean");
  expect_close(logvar.grad(), ref->at("grad_logvar"), 1e-5f, 1e-6f, "grad logvar");
}

// Elementwise closeness with the absolute tolerance scaled to the reference's largest value
// (weight gradients are sums over many positions).
void expect_close_scaled(const Tensor& a, const Tensor& b, float tol, const std::string& what) {
  float peak = 0;
  for (float v : b.to_vector()) peak = std::max(peak, std::fabs(v));
  expect_close(a, b, tol, tol * peak + 1e-6f, what);
}

// Encoder and decoder forward, and the gradients of every weight and of the input, against the
// same architecture in PyTorch (float64) on the same weights.
TEST(Vae, MatchesPyTorch) {
  Generator gen(4);
  const VaeConfig c = tiny();
  Vae vae(c, gen);
  perturb(vae, 100);
  const Var x(randn({1, 3, 9, 8, 12}, 21), true);
  const Tensor z = randn({1, 4, 3, 2, 3}, 22);
  const Tensor gm = randn({1, 8, 3, 2, 3}, 23), gd = randn({1, 3, 9, 8, 12}, 24);
  NamedTensors inputs = {{"x", x.value()}, {"z", z}, {"gm", gm}, {"gd", gd}};
  for (const auto& [name, t] : vae.state_dict()) inputs.push_back({"w." + name, t});
  auto ref = testing::torch_reference("vae", inputs, {{"config", c.to_json().dump()}});
  TORCH_OR_SKIP(ref);
  const Posterior p = vae.encode(x);
  const Var moments = concat({p.mean, p.logvar}, 1);
  const Var decoded = vae.decode(Var(z));
  expect_close(moments.value(), ref->at("moments"), 1e-4f, 1e-4f, "encoder");
  expect_close(decoded.value(), ref->at("decoded"), 1e-4f, 1e-4f, "decoder");
  add(sum(mul(moments, Var(gm))), sum(mul(decoded, Var(gd)))).backward();
  expect_close_scaled(x.grad(), ref->at("grad_x"), 1e-3f, "grad x");
  int checked = 0;
  for (const NamedParam& prm : vae.parameters()) {
    ASSERT_TRUE(prm.var.grad().defined()) << prm.name;
    expect_close_scaled(prm.var.grad(), ref->at("grad." + prm.name), 1e-3f, "grad " + prm.name);
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(vae.parameters().size()));
  EXPECT_GT(checked, 40);
}

TEST(Vae, GradientsMatchFiniteDifferences) {
  OneThread one;
  Generator gen(5);
  VaeConfig c = tiny();
  c.channel_multipliers = {1, 1};
  c.spatial_factor = 2;
  c.temporal_downsample = {0};
  Vae vae(c, gen);
  perturb(vae, 50);
  std::vector<NamedParam> params = vae.parameters();
  const Var x(randn({1, 3, 3, 4, 4}, 30), true);
  const Tensor eps = randn({1, 4, 2, 2, 2}, 31);
  testing::GradcheckOptions opt;
  opt.max_elements = 6;
  opt.rtol = 5e-2f;
  opt.atol = 5e-3f;
  testing::gradcheck(
      [&](const std::vector<Var>& v) {
        const Posterior p = vae.encode(v[0]);
        return vae.decode(sample_posterior(p.mean, p.logvar, eps));
      },
      {x, params.front().var, params[3].var, params.back().var}, opt);
}

TEST(Vae, CheckpointsRoundTripAndRefuseOtherArchitectures) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("cubist_vae_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  Generator gen(6);
  Vae vae(tiny(), gen);
  perturb(vae, 7);
  const std::string path = (dir / "vae.safetensors").string();
  save_vae(path, vae, {{"step", "12"}});
  const auto loaded = load_vae(path);
  EXPECT_EQ(loaded->config(), vae.config());
  const Tensor x = randn({1, 3, 5, 8, 8}, 8);
  expect_close(loaded->encode_mean(x), vae.encode_mean(x), 0, 0, "reloaded encoder");

  // Same tensors, other config in the metadata: the first mismatched tensor is named.
  VaeConfig other = tiny();
  other.channels = 16;
  std::map<std::string, std::string> meta = vae_metadata(other);
  save_safetensors((dir / "other.safetensors").string(), vae.state_dict(), meta);
  const std::string e1 =
      testing::error_message([&] { load_vae((dir / "other.safetensors").string()); });
  EXPECT_NE(e1.find("encoder.conv_in.weight"), std::string::npos) << e1;
  EXPECT_NE(e1.find("another"), std::string::npos) << e1;
  // Not a VAE checkpoint at all.
  save_safetensors((dir / "plain.safetensors").string(), vae.state_dict());
  const std::string e2 =
      testing::error_message([&] { load_vae((dir / "plain.safetensors").string()); });
  EXPECT_NE(e2.find("not a Cubist VAE checkpoint"), std::string::npos) << e2;
  EXPECT_NE(e2.find(kVaeFormat), std::string::npos) << e2;
  fs::remove_all(dir);
}

TEST(Vae, VideoTensorRoundTripAndPsnr) {
  Video v(3, 4, 6);
  for (size_t i = 0; i < v.rgb.size(); ++i) v.rgb[i] = static_cast<uint8_t>((i * 37) % 256);
  const Tensor x = video_to_tensor(v);
  EXPECT_EQ(x.shape(), (Dims{1, 3, 3, 4, 6}));
  EXPECT_FLOAT_EQ(x.data<float>()[0], v.rgb[0] / 127.5f - 1.0f);
  const Video back = tensor_to_video(x);
  EXPECT_EQ(back.rgb, v.rgb);
  EXPECT_EQ(psnr(v, back), 99.0);
  Video off = v;
  off.rgb[0] = static_cast<uint8_t>(off.rgb[0] ^ 16);  // one value off by 16
  EXPECT_NEAR(psnr(v, off), 10 * std::log10(255.0 * 255.0 * v.rgb.size() / 256.0), 1e-9);
}

// A bright square moving right on a dark background, 5 frames of 16x16.
Video moving_square(int64_t frames = 5) {
  Video v(frames, 16, 16);
  for (int64_t t = 0; t < frames; ++t)
    for (int64_t y = 0; y < 16; ++y)
      for (int64_t x = 0; x < 16; ++x) {
        const bool in = y >= 5 && y < 11 && x >= 2 + t && x < 8 + t;
        uint8_t* p = v.pixel(t, y, x);
        p[0] = in ? 230 : 20, p[1] = in ? 40 : 25, p[2] = in ? 40 : 70;
      }
  return v;
}

double reconstruction_mse(const Vae& vae, const Tensor& z, const Tensor& x) {
  NoGrad no_grad;
  return mse_loss(Var(vae.decode_chunked(z, 1)), Var(x)).item();
}

// A tiny model learns to reconstruct one small clip: the loss falls tenfold.
TEST(Vae, TinyModelOverfitsOneClip) {
  OneThread one;
  Generator gen(7);
  Vae vae(tiny(), gen);
  const Var x(video_to_tensor(moving_square()));
  AdamW opt(vae.parameters(), {.lr = 3e-3f});
  Generator noise(8);
  float first = 0, last = 0;
  for (int step = 0; step < 120; ++step) {
    const Posterior p = vae.encode(x);
    Tensor eps = Tensor::empty(p.mean.shape());
    noise.normal_(eps);
    const Var loss = add(mse_loss(vae.decode(sample_posterior(p.mean, p.logvar, eps)), x),
                         scale(kl_divergence(p.mean, p.logvar), 1e-6f));
    opt.zero_grad();
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  EXPECT_LT(last, first / 10) << "first " << first << ", last " << last;
}

// Refinement lowers the encoder's reconstruction error through the decoder alone: the latent
// it returns decodes to the smallest error it saw, never above the encoder's own, and the
// weights are neither changed nor given gradients.
TEST(Vae, RefinedLatentDecodesCloserAndLeavesTheWeightsAlone) {
  OneThread one;
  Generator gen(11);
  Vae vae(tiny(), gen);
  perturb(vae, 300);
  const Tensor x = video_to_tensor(moving_square());
  const Tensor z = vae.encode_mean(x);
  const double before = reconstruction_mse(vae, z, x);
  const std::string weights = vae.fingerprint();

  std::vector<double> seen;
  const Tensor refined = refine_latent(vae, x, z, {.steps = 40, .lr = 0.1f},
                                       [&](int64_t step, int64_t steps, double mse) {
                                         EXPECT_EQ(step, static_cast<int64_t>(seen.size()) + 1);
                                         EXPECT_EQ(steps, 40);
                                         seen.push_back(mse);
                                       });
  ASSERT_EQ(seen.size(), 40u);
  EXPECT_NEAR(seen.front(), before, 1e-5 * before) << "the first decode is the encoder's latent";
  const double after = reconstruction_mse(vae, refined, x);
  EXPECT_NEAR(after, *std::min_element(seen.begin(), seen.end()), 1e-5 * before);
  EXPECT_LT(after, 0.7 * before) << "before " << before << ", after " << after;
  EXPECT_EQ(refined.shape(), z.shape());

  EXPECT_EQ(vae.fingerprint(), weights);
  for (const NamedParam& p : vae.parameters()) {
    EXPECT_FALSE(p.var.grad().defined()) << p.name << " was given a gradient";
    EXPECT_TRUE(p.var.requires_grad()) << p.name << " stayed frozen";
  }
  // No steps: the encoder's latent itself.
  expect_close(refine_latent(vae, x, z, {.steps = 0}), z, 0, 0, "unrefined");
  EXPECT_THROW(refine_latent(vae, x, z, {.steps = -1}), Error);
  EXPECT_THROW(refine_latent(vae, x, z, {.steps = 2, .lr = 0.0f}), Error);
}

// In greedy chunks (no lookahead), each chunk is refined on its own frames through the decoder's
// stream of the chunks before it, already refined: the first chunk's result is the refinement of
// the first frame alone, a later chunk's first decode is that of the refined past followed by
// the encoder's latent, and the whole clip ends closer than the encoder's latent.
TEST(Vae, RefiningInChunksStepsEachChunkThroughTheRefinedChunksBefore) {
  OneThread one;
  Generator gen(11);
  Vae vae(tiny(), gen);
  perturb(vae, 300);
  const Tensor x = video_to_tensor(moving_square(9));  // 3 latent frames: chunks {0}, {1, 2}
  const Tensor z = vae.encode_mean(x);
  ASSERT_EQ(z.size(2), 3);
  const int64_t steps = 12;

  std::vector<double> seen;
  const Tensor refined =
      refine_latent(vae, x, z, {.steps = steps, .chunk_latents = 2, .lookahead = false},
                    [&](int64_t decode, int64_t decodes, double mse) {
                      EXPECT_EQ(decode, static_cast<int64_t>(seen.size()) + 1);
                      EXPECT_EQ(decodes, 2 * steps) << "two chunks of " << steps << " steps";
                      seen.push_back(mse);
                    });
  ASSERT_EQ(seen.size(), static_cast<size_t>(2 * steps));
  EXPECT_EQ(refined.shape(), z.shape());
  EXPECT_LT(reconstruction_mse(vae, refined, x), 0.9 * reconstruction_mse(vae, z, x));

  // Chunk 0: the first frame, as if it were the whole clip.
  const Tensor first = refine_latent(vae, x.slice(2, 0, 1).contiguous(),
                                     z.slice(2, 0, 1).contiguous(), {.steps = steps});
  expect_close(refined.slice(2, 0, 1).contiguous(), first, 1e-5, 1e-5, "chunk 0");
  // Chunk 1 starts from the encoder's latent after the refined chunk 0, measured on frames 1-8.
  const Tensor start = concat({Var(refined.slice(2, 0, 1)), Var(z.slice(2, 1, 3))}, 2).value();
  NoGrad no_grad;
  const Tensor decoded = vae.decode_chunked(start, 1);
  const double mse =
      mse_loss(Var(decoded.slice(2, 1, 9).contiguous()), Var(x.slice(2, 1, 9).contiguous())).item();
  EXPECT_NEAR(seen[steps], mse, 1e-5 * mse);
  // Each chunk keeps its best decode: the last step is never the only measure.
  EXPECT_LE(*std::min_element(seen.begin() + steps, seen.end()), seen[steps]);
}

// With lookahead, each chunk's window holds the next chunk too: the first window's first decode
// is the encoder's latent over both chunks' frames, and the chunk it keeps differs from the
// refinement of its own frames alone.
TEST(Vae, RefiningInChunksWithLookaheadSeesTheNextChunksFrames) {
  OneThread one;
  Generator gen(11);
  Vae vae(tiny(), gen);
  perturb(vae, 300);
  const Tensor x = video_to_tensor(moving_square(9));  // chunks of 1: {0}, {1}, {2}
  const Tensor z = vae.encode_mean(x);
  const int64_t steps = 10;
  std::vector<double> seen;
  const Tensor refined = refine_latent(vae, x, z, {.steps = steps, .chunk_latents = 1},
                                       [&](int64_t, int64_t decodes, double mse) {
                                         EXPECT_EQ(decodes, 3 * steps);
                                         seen.push_back(mse);
                                       });
  ASSERT_EQ(seen.size(), static_cast<size_t>(3 * steps));
  EXPECT_NEAR(seen[0],
              reconstruction_mse(vae, z.slice(2, 0, 2).contiguous(), x.slice(2, 0, 5).contiguous()),
              1e-5 * seen[0])
      << "window 0: latent frames 0 and 1, frames 0 to 4";
  EXPECT_LT(reconstruction_mse(vae, refined, x), 0.9 * reconstruction_mse(vae, z, x));
  const Tensor alone = refine_latent(vae, x.slice(2, 0, 1).contiguous(),
                                     z.slice(2, 0, 1).contiguous(), {.steps = steps});
  const Tensor kept = refined.slice(2, 0, 1).contiguous();
  double diff = 0;
  for (int64_t i = 0; i < kept.numel(); ++i)
    diff = std::max(diff, std::abs(double{kept.data<float>()[i]} - alone.data<float>()[i]));
  EXPECT_GT(diff, 1e-4) << "latent frame 0 was refined for frames 1-4 too";
}

// What a refinement takes at a time: the whole clip when it fits; else, by default, the longest
// chunks whose windows (a chunk and the next) fit, or greedy chunks of one latent frame; a clip
// of which not even one latent frame fits, or chunks asked for that do not, is refused, naming
// what it would need.
TEST(Vae, RefinementChunksFitTheMemoryBudget) {
  const VaeConfig c;  // temporal factor 4
  const size_t frame = refine_memory_bytes(c, 1, 64, 64);
  const RefineOptions automatic{.steps = 1};
  using Plan = std::pair<int64_t, bool>;
  const auto plan = [&](const RefineOptions& o, size_t frames) {
    const RefinePlan p = plan_refinement(c, o, 33, 64, 64, frames * frame);
    return Plan(p.chunk_latents, p.lookahead);
  };
  EXPECT_EQ(plan(automatic, 33), Plan(0, false)) << "the whole clip";
  EXPECT_EQ(plan(automatic, 32), Plan(4, true)) << "windows of 2 x 4 latent frames";
  EXPECT_EQ(plan(automatic, 8), Plan(1, true));
  EXPECT_EQ(plan(automatic, 7), Plan(1, false)) << "no room for a window of two";
  EXPECT_EQ(plan({.steps = 1, .lookahead = false}, 32), Plan(8, false));
  try {
    plan(automatic, 3);
    FAIL() << "a chunk of one latent frame (4 frames) fits 3 frames' memory?";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at least 4 frames (one latent frame)"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(plan({.steps = 1, .chunk_latents = 2}, 16), Plan(2, true));
  EXPECT_THROW(plan({.steps = 1, .chunk_latents = 2}, 15), Error) << "a window of 2 x 2";
  EXPECT_EQ(plan({.steps = 1, .chunk_latents = 2, .lookahead = false}, 8), Plan(2, false));
  EXPECT_THROW(plan({.steps = 1, .chunk_latents = kRefineWhole}, 32), Error);
  EXPECT_THROW(plan({.steps = 1, .chunk_latents = -2}, 33), Error);
}

// A refined latent file says so, and through which decoder; an encoder's does not.
// A clip too large to refine is refused before the first step, naming what it would need.
TEST(Vae, RefiningMoreThanMemoryAllowsIsRefused) {
  const VaeConfig c;  // base width 16, as the bundled model
  const size_t need = refine_memory_bytes(c, 17, 64, 64);
  EXPECT_NEAR(static_cast<double>(need), 2700.0 * 17 * 64 * 64, 1.0);
  EXPECT_NO_THROW(check_refine_memory(c, 17, 64, 64, need));
  try {
    check_refine_memory(c, 17, 1080, 1920, size_t{24} << 30);
    FAIL() << "a 17-frame 1080p refinement fits 24 GiB?";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("17 frames of 1920x1080"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("about 95.2 GB"), std::string::npos) << e.what();
  }
  VaeConfig wide = c;
  wide.channels = 32;
  EXPECT_EQ(refine_memory_bytes(wide, 17, 64, 64), 2 * need);
}

// A video encoded a chunk at a time from a reader gives encode_latent's latent: fitting, padded
// in time and space on its last chunk, and tiled; a count the model does not take is refused.
TEST(Vae, StreamedEncodingEqualsEncodingTheWholeVideo) {
  OneThread one;
  Generator gen(51);
  Vae vae(tiny(), gen);
  perturb(vae, 52);
  const std::string dir = ::testing::TempDir() + "streamed_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  struct Case {
    int64_t frames, height, width;
    bool pad;
    Tiling tiling;
  };
  for (const Case k : {Case{13, 16, 20, false, {}}, Case{11, 15, 18, true, {}},
                       Case{18, 16, 12, true, {}}, Case{9, 36, 28, false, {16, 4}}}) {
    const Video v = testing::smooth_video(k.frames, k.height, k.width, 10.0);
    const std::string frames = dir + "/v" + std::to_string(k.frames) + "/";
    write_video(frames, v);  // PNG frames: read back exactly
    EncodeOptions o;
    o.pad = k.pad, o.chunk_frames = 4, o.tiling = k.tiling;
    const LatentFile whole = encode_latent(vae, read_video(frames), "clip", o);
    VideoReader reader(frames);
    int64_t heard = 0;
    const LatentFile streamed =
        encode_latent_stream(vae, reader, "clip", o, [&](int64_t n) { heard = n; });
    EXPECT_EQ(streamed.latent.shape(), whole.latent.shape()) << k.frames;
    EXPECT_EQ(streamed.latent.to_vector(), whole.latent.to_vector()) << k.frames;
    EXPECT_EQ(streamed.frames, k.frames);
    EXPECT_EQ(heard, k.frames);
    EXPECT_EQ(streamed.height, k.height);
    EXPECT_EQ(streamed.width, k.width);
    EXPECT_DOUBLE_EQ(streamed.fps, 10.0);
  }
  VideoReader odd(dir + "/v18/");
  EncodeOptions no_pad;
  no_pad.chunk_frames = 4;
  testing::expect_error([&] { encode_latent_stream(vae, odd, "clip", no_pad); }, {"clip", "18"});
  std::filesystem::remove_all(dir);
}

// A file's latent refined in chunks reads the file again window by window (overlapping, with the
// lookahead) instead of holding it: the same latent as the refinement of the video held whole,
// padded in time and space the same way; a clip refined whole takes the same path as ever.
TEST(Vae, RefiningAFileInChunksReadsItWindowByWindow) {
  OneThread one;
  Generator gen(53);
  Vae vae(tiny(), gen);
  perturb(vae, 54);
  const std::string dir = ::testing::TempDir() + "refine_file_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const Video v = testing::smooth_video(11, 16, 20, 10.0);  // padded to 13 x 16 x 24
  const std::string frames = dir + "/v/";
  write_video(frames, v);
  for (const int64_t chunk : {int64_t{1}, int64_t{2}, kRefineWholeOrChunks}) {
    EncodeOptions o;
    o.pad = true, o.chunk_frames = 4;
    o.refine = {.steps = 3, .chunk_latents = chunk};
    int64_t decodes = 0;
    const LatentFile held = encode_latent(vae, read_video(frames), "clip", o);
    const LatentFile read =
        encode_video_file(vae, frames, o, {}, [&](int64_t d, int64_t, double) { decodes = d; });
    EXPECT_EQ(read.latent.shape(), held.latent.shape()) << chunk;
    EXPECT_EQ(read.latent.to_vector(), held.latent.to_vector()) << chunk;
    EXPECT_EQ(read.refine_plan.chunk_latents, held.refine_plan.chunk_latents) << chunk;
    EXPECT_EQ(read.refine_steps, 3);
    EXPECT_EQ(read.refined_for, vae.decoder_fingerprint());
    EXPECT_EQ(read.frames, 11);
    EXPECT_EQ(read.width, 20);
    const int64_t chunks = chunk == 1 ? 4 : chunk == 2 ? 3 : 1;  // 4 latent frames
    EXPECT_EQ(decodes, 3 * chunks) << chunk;
  }
  std::filesystem::remove_all(dir);
}

TEST(Vae, RefinedLatentFilesRecordTheirRefinement) {
  OneThread one;
  Generator gen(12);
  Vae vae(tiny(), gen);
  const std::string dir = ::testing::TempDir() + "refined_latent_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const Video v = moving_square();
  save_latent(dir + "/plain.safetensors", encode_latent(vae, v, "clip"));
  EncodeOptions refine;
  refine.refine.steps = 3;
  save_latent(dir + "/refined.safetensors", encode_latent(vae, v, "clip", refine));
  refine.refine.chunk_latents = 1;
  refine.refine.lr = 0.05f;
  save_latent(dir + "/chunks.safetensors", encode_latent(vae, v, "clip", refine));
  const LatentFile plain = load_latent(dir + "/plain.safetensors");
  const LatentFile refined = load_latent(dir + "/refined.safetensors");
  const LatentFile chunks = load_latent(dir + "/chunks.safetensors");
  EXPECT_EQ(plain.refine_steps, 0);
  EXPECT_EQ(plain.refined_for, "");
  EXPECT_EQ(refined.refine_steps, 3);
  EXPECT_EQ(refined.refined_for, vae.decoder_fingerprint());
  EXPECT_FLOAT_EQ(refined.refine_lr, kRefineLr);
  EXPECT_EQ(refined.refine_plan.chunk_latents, 0);  // a small clip is refined whole
  EXPECT_FLOAT_EQ(chunks.refine_lr, 0.05f);
  EXPECT_EQ(chunks.refine_plan.chunk_latents, 1);
  EXPECT_TRUE(chunks.refine_plan.lookahead);
  EXPECT_NE(vae.decoder_fingerprint(), vae.encoder_fingerprint());
  std::filesystem::remove_all(dir);
}

TEST(VaeTiling, TilesAreWholeAndCoverTheAxisWithTheirOverlap) {
  EXPECT_EQ(tile_starts(8, 8, 2), (std::vector<int64_t>{0}));
  EXPECT_EQ(tile_starts(14, 8, 2), (std::vector<int64_t>{0, 6}));
  EXPECT_EQ(tile_starts(12, 8, 2), (std::vector<int64_t>{0, 4}));  // the last ends at the edge
  EXPECT_EQ(tile_starts(15, 8, 2), (std::vector<int64_t>{0, 6, 7}));
  EXPECT_THROW(tile_starts(15, 8, 8), Error);
  const TileGrid g = tile_grid(5, 20, 8, 2);  // an axis shorter than a tile is one tile
  EXPECT_EQ(g.h, 5);
  EXPECT_EQ(g.ys, (std::vector<int64_t>{0}));
  EXPECT_EQ(g.xs, (std::vector<int64_t>{0, 6, 12}));
  // Weights: positive, 1 away from neighbours, ramping across each overlap (in output cells).
  const std::vector<int64_t> starts{0, 6, 7};
  const std::vector<float> w1 = tile_weights(starts, 1, 8, 2);
  ASSERT_EQ(w1.size(), 16u);
  for (float w : w1) EXPECT_GT(w, 0.0f);
  EXPECT_LT(w1[0], w1[3]);   // ramps up over the 4 cells shared with tile 0
  EXPECT_LT(w1[15], w1[2]);  // and down over the 14 shared with tile 2
  EXPECT_FLOAT_EQ(tile_weights(starts, 0, 8, 2)[0], 1.0f);  // the frame's edge: no ramp
}

// Tiles that agree with one field blend back to exactly that field, whatever the weights: the
// blend is a weighted mean of the right cells (offsets, scale, three-tile overlaps, corners).
TEST(VaeTiling, TilesThatAgreeBlendToTheirField) {
  for (int64_t scale : {1, 4}) {
    const TileGrid g = tile_grid(15, 13, 8, 2);  // ys 0, 6, 7 (three overlap); xs 0, 5
    const int64_t H = 15 * scale, W = 13 * scale;
    const Tensor field = randn({1, 2, 3, H, W}, 5 + scale);
    int64_t runs = 0;
    const Tensor out = blend_tiles(g, scale, [&](int64_t y0, int64_t x0, int64_t h, int64_t w) {
      ++runs;
      return field.slice(3, y0 * scale, (y0 + h) * scale).slice(4, x0 * scale, (x0 + w) * scale);
    });
    EXPECT_EQ(runs, 3 * 2);
    expect_close(out, field, 1e-5f, 1e-6f, "blend");
  }
}

TEST(VaeTiling, FramesWithinATileGetTheUntiledResult) {
  OneThread one;
  Generator gen(21);
  Vae vae(tiny(), gen);
  perturb(vae, 22);
  const Tensor x = randn({1, 3, 5, 16, 24}, 23);
  const Tensor z = vae.encode_mean(x, 4);
  const Tiling t{.tile = 24, .overlap = 8};
  const Tensor zt = encode_tiled(vae, x, 4, t), dt = decode_tiled(vae, z, 1, t);
  const Tensor d = vae.decode_chunked(z, 1);
  EXPECT_EQ(zt.to_vector(), z.to_vector());
  EXPECT_EQ(dt.to_vector(), d.to_vector());
  EXPECT_THROW(encode_tiled(vae, x, 4, {.tile = 6, .overlap = 0}), Error);  // not a multiple of 4
  EXPECT_THROW(decode_tiled(vae, z, 1, {.tile = 8, .overlap = 8}), Error);  // overlap >= tile
}

// A decoding tells its progress: every latent frame of every tile, in order, to the total; the
// result is the same as without a listener.
TEST(VaeTiling, DecodingCountsLatentFramesOverTiles) {
  OneThread one;
  Generator gen(24);
  Vae vae(tiny(), gen);
  const Tensor z = vae.encode_mean(randn({1, 3, 9, 16, 24}, 25), 4);  // 3 latent frames
  const int64_t sf = vae.config().spatial_factor;
  const TileGrid grid = tile_grid(z.size(3), z.size(4), 8 / sf, 4 / sf);
  const int64_t grid_tiles = static_cast<int64_t>(grid.ys.size() * grid.xs.size());
  ASSERT_GT(grid_tiles, 1);
  for (const auto& [t, tiles] : {std::pair{Tiling{.tile = 0}, int64_t{1}},
                                 std::pair{Tiling{.tile = 8, .overlap = 4}, grid_tiles}}) {
    std::vector<int64_t> heard;
    const Tensor d = decode_tiled(vae, z, 1, t, [&](int64_t done, int64_t total) {
      EXPECT_EQ(total, 3 * tiles);
      heard.push_back(done);
    });
    std::vector<int64_t> want(static_cast<size_t>(3 * tiles));
    std::iota(want.begin(), want.end(), 1);
    EXPECT_EQ(heard, want) << tiles << " tiles";
    EXPECT_EQ(d.to_vector(), decode_tiled(vae, z, 1, t).to_vector());
  }
}

// An encoding tells its progress too: the frames of each chunk (the first alone, then four at a
// time; one pass reports once), tile after tile, to the total; the same latent as without.
TEST(VaeTiling, EncodingCountsFramesOverTiles) {
  OneThread one;
  Generator gen(26);
  Vae vae(tiny(), gen);
  const Tensor x = randn({1, 3, 9, 16, 24}, 27);
  const int64_t sf = vae.config().spatial_factor;
  const TileGrid grid = tile_grid(16 / sf, 24 / sf, 8 / sf, 4 / sf);
  const int64_t grid_tiles = static_cast<int64_t>(grid.ys.size() * grid.xs.size());
  ASSERT_GT(grid_tiles, 1);
  for (const auto& [t, tiles] : {std::pair{Tiling{.tile = 0}, int64_t{1}},
                                 std::pair{Tiling{.tile = 8, .overlap = 4}, grid_tiles}}) {
    for (const int64_t chunk : {int64_t{4}, int64_t{0}}) {
      std::vector<int64_t> heard;
      const Tensor z = encode_tiled(vae, x, chunk, t, [&](int64_t done, int64_t total) {
        EXPECT_EQ(total, 9 * tiles);
        heard.push_back(done);
      });
      std::vector<int64_t> want;
      for (int64_t i = 0; i < tiles; ++i)
        for (const int64_t frames :
             chunk == 4 ? std::vector<int64_t>{1, 5, 9} : std::vector<int64_t>{9})
          want.push_back(9 * i + frames);
      EXPECT_EQ(heard, want) << tiles << " tiles, chunks of " << chunk;
      EXPECT_EQ(z.to_vector(), encode_tiled(vae, x, chunk, t).to_vector());
    }
  }
}

// Large frames tile by tile: near the untiled result (the tiles see their own statistics and
// borders), in tiles' memory.
TEST(VaeTiling, LargeFramesTileNearTheUntiledResultInLessMemory) {
  OneThread one;
  Generator gen(31);
  Vae vae(tiny(), gen);
  perturb(vae, 32);
  const Tensor x = randn({1, 3, 5, 96, 96}, 33, 0.5f);
  const Tiling t{.tile = 32, .overlap = 8};
  Allocator& a = Allocator::cpu();
  a.reset_peak();
  const size_t base = a.stats().bytes_in_use;
  const Tensor z = vae.encode_mean(x, 4);
  const Tensor d = vae.decode_chunked(z, 1);
  const size_t whole_peak = a.stats().peak_bytes_in_use - base;
  a.reset_peak();
  const size_t base_tiled = a.stats().bytes_in_use;
  const Tensor zt = encode_tiled(vae, x, 4, t);
  const Tensor dt = decode_tiled(vae, z, 1, t);
  const size_t tiled_peak = a.stats().peak_bytes_in_use - base_tiled;
  EXPECT_LT(tiled_peak, whole_peak / 2) << tiled_peak << " vs " << whole_peak;
  ASSERT_EQ(zt.shape(), z.shape());
  ASSERT_EQ(dt.shape(), d.shape());
  const auto rel = [](const Tensor& got, const Tensor& want) {
    const std::vector<float> g = got.to_vector(), w = want.to_vector();
    double diff = 0, norm = 0;
    for (size_t i = 0; i < g.size(); ++i) diff += std::abs(g[i] - w[i]), norm += std::abs(w[i]);
    return diff / norm;
  };
  // A random network's border effects reach far, so "close" is measured against how far apart
  // the results of two different inputs are: a tile encoded or decoded from the wrong place
  // would be as far off as those.
  const Tensor other = randn({1, 3, 5, 96, 96}, 34, 0.5f);
  const Tensor z_other = vae.encode_mean(other, 4);
  const Tensor d_other = vae.decode_chunked(z_other, 1);
  EXPECT_LT(rel(zt, z), 0.5 * rel(z_other, z)) << rel(zt, z) << " vs " << rel(z_other, z);
  EXPECT_LT(rel(dt, d), 0.5 * rel(d_other, d)) << rel(dt, d) << " vs " << rel(d_other, d);
}

// Untiled frames always stream (it only saves memory); tiled ones only when the video is long,
// since every tile's stream holds its convolutions' last frames.
TEST(VaeTiling, LongOrUntiledVideosStream) {
  const Tiling t{.tile = 256, .overlap = 64};
  EXPECT_TRUE(stream_in_chunks(1000, 256, 256, t));
  EXPECT_TRUE(stream_in_chunks(17, 256, 192, t));
  EXPECT_FALSE(stream_in_chunks(17, 1080, 1920, t));
  EXPECT_FALSE(stream_in_chunks(kStreamFrames, 512, 256, t));
  EXPECT_TRUE(stream_in_chunks(kStreamFrames + 1, 512, 256, t));
  EXPECT_TRUE(stream_in_chunks(17, 1080, 1920, {.tile = 0, .overlap = 0}));
}

// Streams give, chunk by chunk, what encode_tiled and decode_tiled give of the whole: tiled (each
// tile with its own causal stream) and untiled, so a long video never has to be held whole.
TEST(VaeTiling, StreamsChunkByChunkEqualTheWholeResult) {
  OneThread one;
  Generator gen(41);
  Vae vae(tiny(), gen);
  perturb(vae, 42);
  const Tensor x = randn({1, 3, 9, 48, 40}, 43, 0.5f);
  for (const Tiling t : {Tiling{.tile = 32, .overlap = 8}, Tiling{.tile = 0, .overlap = 0}}) {
    const Tensor z = encode_tiled(vae, x, 4, t);
    EncodeStream enc(vae, 48, 40, t);
    const Tensor z0 = enc.next(x.slice(2, 0, 1).contiguous());
    const Tensor z1 = enc.next(x.slice(2, 1, 5).contiguous());
    const Tensor z2 = enc.next(x.slice(2, 5, 9).contiguous());
    const Tensor zs = concat({Var(z0), Var(z1), Var(z2)}, 2).value();
    EXPECT_EQ(zs.to_vector(), z.to_vector()) << "encode, tile " << t.tile;

    const Tensor d = decode_tiled(vae, z, 1, t);
    DecodeStream dec(vae, z.size(3), z.size(4), t);
    std::vector<Var> parts;
    for (int64_t i = 0; i < z.size(2); ++i)
      parts.push_back(Var(dec.next(z.slice(2, i, i + 1).contiguous())));
    EXPECT_EQ(concat(parts, 2).value().to_vector(), d.to_vector()) << "decode, tile " << t.tile;
  }
  DecodeStream dec(vae, 12, 10);
  EXPECT_THROW(dec.next(Tensor::zeros({1, tiny().latent_channels, 1, 10, 12})), Error);
}

}  // namespace
}  // namespace cubist
