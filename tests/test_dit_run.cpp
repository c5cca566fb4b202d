// Tests of `cubist train`'s library side: the moving average of the weights (train/ema.h), the
// DiT training run (train/dit_run.h): exact resume, outputs, a manifest encoded into the latent
// cache, samples decoded by the recorded autoencoder, the data order, and config errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/allocator.h"
#include "data/manifest.h"
#include "io/safetensors.h"
#include "model_testing.h"
#include "models/vae/latent_io.h"
#include "pipeline/text_to_video.h"
#include "testing.h"
#include "thread_group.h"
#include "train/dit_run.h"
#include "train/dit_trainer.h"
#include "train/ema.h"
#include "train/metrics_log.h"

namespace cubist {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kCaptions = {
    "a small red circle bouncing on a navy background",
    "a large blue square moving left on a black background",
    "a small green triangle spinning and a large white circle standing still on a gray "
    "background",
    "a large yellow circle moving up on a brown background"};

// Four latent clips of different sizes (as the tiny autoencoder would make) and their manifest;
// `encoder` is the encoder fingerprint the files record ("" for none).
std::string write_latents(const std::string& dir, const std::string& encoder = "") {
  const std::vector<Dims> shapes = {{4, 1, 4, 4}, {4, 2, 4, 6}, {4, 2, 2, 2}, {4, 1, 6, 4}};
  fs::create_directories(fs::path(dir) / "latents");
  std::ofstream m(dir + "/latents.jsonl");
  for (size_t i = 0; i < shapes.size(); ++i) {
    LatentFile f;
    f.latent = testing::randn(shapes[i], 10 + i);
    f.config = testing::tiny_vae_config();
    f.frames = f.config.video_frames(shapes[i][1]);
    f.height = shapes[i][2] * 4, f.width = shapes[i][3] * 4;
    f.caption = kCaptions[i];
    f.vae_encoder = encoder;
    const std::string name = "latents/" + std::to_string(i) + ".safetensors";
    save_latent(dir + "/" + name, f);
    m << nlohmann::json{{"latent", name},
                        {"caption", kCaptions[i]},
                        {"latent_shape", shapes[i].vec()}}
             .dump()
      << "\n";
  }
  return dir + "/latents.jsonl";
}

DiTRunOptions tiny_run(const std::string& latents, const std::string& out) {
  DiTRunOptions o;
  o.config.model = testing::tiny_dit_config();
  DiTRunConfig& t = o.config.train;
  t.steps = 4, t.batch = 2, t.lr = 1e-3f, t.warmup = 1, t.ema = 0.9f, t.seed = 3;
  t.min_lr_ratio = 0.5f;
  t.checkpoint_every = 100, t.sample_every = 0;
  o.config.data.latents = {latents};
  o.out_dir = out;
  return o;
}

// A tiny run on a manifest of videos, encoded by `vae` into OUT/cache as they are cut.
DiTRunOptions video_run(const std::string& manifest, const std::string& vae, const std::string& out,
                        const ClipCut& cut = {}) {
  DiTRunOptions o = tiny_run("", out);
  o.config.data = {.latents = {}, .manifest = manifest, .vae = vae, .validation = "", .cut = cut};
  return o;
}

using Ema = testing::TinyModelTest;
using DiTRun = testing::TinyModelTest;

TEST_F(Ema, FollowsTheFormula) {
  Module live, shadow;
  Var a(testing::randn({3, 4}, 1)), b(testing::randn({5}, 2));
  Var sa(Tensor::zeros({3, 4})), sb(Tensor::zeros({5}));
  const std::vector<NamedParam> lp = {{"a", a}, {"b", b}}, sp = {{"a", sa}, {"b", sb}};
  cubist::Ema ema(lp, sp, 0.95f);
  // expected = the formula in double: e_0 = w_0, e_n = d_n e_{n-1} + (1 - d_n) w_n.
  const std::vector<float> a0 = a.value().to_vector();
  std::vector<double> expected(a0.begin(), a0.end());
  for (int n = 1; n <= 40; ++n) {
    Tensor w = testing::randn({3, 4}, 100 + n);
    a.value().copy_(w);
    ema.update();
    const double d = std::min(0.95, n / (n + 9.0));
    const std::vector<float> wv = w.to_vector();
    for (size_t i = 0; i < expected.size(); ++i) expected[i] = d * expected[i] + (1 - d) * wv[i];
  }
  EXPECT_EQ(ema.updates(), 40);
  EXPECT_FLOAT_EQ(ema.decay_at(1), 0.1f);
  EXPECT_FLOAT_EQ(ema.decay_at(1000), 0.95f);
  const std::vector<float> got = sa.value().to_vector();
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5) << i;
  // b never changed: its average stays b.
  EXPECT_EQ(sb.value().to_vector(), b.value().to_vector());
  EXPECT_THROW(cubist::Ema(lp, {{"a", sa}}, 0.9f), Error);
  EXPECT_THROW(cubist::Ema(lp, sp, 1.0f), Error);
}

// The trainer's average after k steps is the formula over the weights of each step.
TEST_F(Ema, TrainerAveragesItsWeights) {
  DiTTrainer tr(testing::tiny_dit_config(), text::Tokenizer::shapes_world(),
                {.adam = {.lr = 1e-2f}, .warmup_steps = 0, .seed = 1, .ema_decay = 0.5f}, 1);
  const auto weights = [&] {
    std::vector<std::vector<float>> w;
    for (const NamedParam& p : tr.model().parameters()) w.push_back(p.var.value().to_vector());
    return w;
  };
  std::vector<std::vector<double>> e;  // the formula in double, from the initial weights
  for (const auto& v : weights()) e.emplace_back(v.begin(), v.end());
  for (int n = 1; n <= 3; ++n) {
    tr.step({testing::randn({4, 1, 4, 4}, n)}, {kCaptions[0]});
    const double d = std::min(0.5, n / (n + 9.0));
    const auto w = weights();
    for (size_t p = 0; p < w.size(); ++p)
      for (size_t i = 0; i < w[p].size(); ++i) e[p][i] = d * e[p][i] + (1 - d) * w[p][i];
  }
  const std::vector<NamedParam> avg = tr.sampling_model().parameters();
  double worst = 0;
  for (size_t p = 0; p < avg.size(); ++p) {
    const std::vector<float> v = avg[p].var.value().to_vector();
    for (size_t i = 0; i < v.size(); ++i) worst = std::max(worst, std::abs(v[i] - e[p][i]));
  }
  EXPECT_LT(worst, 1e-6);
  EXPECT_NE(&tr.sampling_model(), &tr.model());
}

TEST_F(DiTRun, ResumedRunEqualsTheUninterruptedRun) {
  const std::string latents = write_latents(path("data"));
  const DiTRunResult full = train_dit(tiny_run(latents, path("a")));
  EXPECT_TRUE(full.finished);
  EXPECT_EQ(full.end_step, 4);

  DiTRunOptions first = tiny_run(latents, path("b"));
  first.stop_after = 2;
  const DiTRunResult part = train_dit(first);
  EXPECT_FALSE(part.finished);
  EXPECT_EQ(part.end_step, 2);
  DiTRunOptions rest = tiny_run(latents, path("b"));
  int64_t start = -1;
  std::vector<std::string> changed = {"?"};
  rest.on_start = [&](const DiTRunInfo& info) { start = info.start_step, changed = info.changed; };
  EXPECT_TRUE(train_dit(rest).finished);
  EXPECT_EQ(start, 2);
  EXPECT_EQ(changed, std::vector<std::string>{});  // the same settings
  // Extended with another rate: the resumed run says what changed (the step count aside).
  DiTRunOptions longer = tiny_run(latents, path("c"));
  fs::copy(path("b"), path("c"));
  longer.config.train.steps = 5, longer.config.train.lr = 2e-3f;
  longer.on_start = [&](const DiTRunInfo& info) { changed = info.changed; };
  EXPECT_TRUE(train_dit(longer).finished);
  EXPECT_EQ(changed, std::vector<std::string>{"train.lr 0.001 -> 0.002"});

  for (const char* file : {"checkpoint.safetensors", "dit.safetensors"}) {
    const SafeTensors fa = SafeTensors::open(path("a/") + file);
    const SafeTensors fb = SafeTensors::open(path("b/") + file);
    ASSERT_EQ(fa.names(), fb.names());
    for (const std::string& name : fa.names())
      EXPECT_EQ(fa.get(name).to_vector(), fb.get(name).to_vector()) << file << " " << name;
    EXPECT_EQ(fb.metadata().at("step"), "4");
  }
  // Weights, EMA and both Adam moments are all in the checkpoint.
  const SafeTensors ck = SafeTensors::open(path("b/checkpoint.safetensors"));
  for (const char* prefix : {"model.", "ema.", "adam.m.", "adam.v."})
    EXPECT_TRUE(ck.contains(prefix + std::string("final.linear.weight"))) << prefix;
  for (const char* column : {"step", "loss", "grad_norm", "lr"})
    EXPECT_EQ(MetricsLog::read_column(path("b/log.csv"), column),
              MetricsLog::read_column(path("a/log.csv"), column))
        << column;
  // The rate warms up for a step, then decays along the cosine to lr * min_lr_ratio at the end.
  const std::vector<double> lr = MetricsLog::read_column(path("b/log.csv"), "lr");
  ASSERT_EQ(lr.size(), 4u);
  EXPECT_NEAR(lr[0], 1e-3, 1e-9);
  EXPECT_NEAR(lr[2], 0.75e-3, 1e-9);
  EXPECT_NEAR(lr[3], 0.5e-3, 1e-9);
  EXPECT_TRUE(fs::exists(path("b/loss.svg")));
  EXPECT_TRUE(fs::exists(path("b/config.json")));
  // dit.safetensors holds the EMA weights, loadable for generation.
  const LoadedDiT g = load_dit_checkpoint(path("b/dit.safetensors"));
  EXPECT_EQ(g.tokenizer.vocab_size(), text::Tokenizer::from_captions(kCaptions).vocab_size());
  EXPECT_EQ(SafeTensors::open(path("b/dit.safetensors")).metadata().at("weights"), "ema");
  EXPECT_EQ(
      SafeTensors::open(path("b/dit.safetensors")).get("model.final.linear.weight").to_vector(),
      ck.get("ema.final.linear.weight").to_vector());
}

// Two processes (threads here) each take half of every step's clips: the run writes what one
// process writes, within float sums' order; only rank 0 writes or calls back; an interrupted
// data-parallel run resumes (its first step with the optimizer's moments sharded, the rest
// without), and a batch smaller than the group is refused.
TEST_F(DiTRun, DataParallelRunWritesWhatOneProcessWrites) {
  const std::string latents = write_latents(path("data"));
  EXPECT_TRUE(train_dit(tiny_run(latents, path("one"))).finished);
  std::vector<int> started(2, 0);
  int processes = 0;
  testing::ThreadGroup::run(2, [&](ProcessGroup& g) {
    DiTRunOptions first = tiny_run(latents, path("two"));
    first.group = &g;
    first.stop_after = g.rank() == 0 ? 1 : 3;  // they stop together, at the first to stop
    first.on_start = [&](const DiTRunInfo& info) {
      ++started[static_cast<size_t>(g.rank())];
      processes = info.processes;
    };
    EXPECT_EQ(train_dit(first).end_step, 1);
    g.barrier();  // rank 0 has written the checkpoint
    DiTRunOptions rest = tiny_run(latents, path("two"));
    rest.group = &g;
    rest.config.train.shard_optimizer = false;  // a sharded run's checkpoint resumes unsharded
    rest.config.train.balance_shares = false;   // and the clips dealt in order: the same steps
    const DiTRunResult r = train_dit(rest);
    EXPECT_EQ(r.start_step, 1);
    EXPECT_TRUE(r.finished);
  });
  EXPECT_EQ(started, (std::vector<int>{1, 0}));
  EXPECT_EQ(processes, 2);
  // The weights, and the checkpoint's moments, which the processes kept sharded and rank 0
  // gathered to write.
  for (const char* file : {"dit.safetensors", "checkpoint.safetensors"}) {
    const SafeTensors a = SafeTensors::open(path("one/") + file);
    const SafeTensors b = SafeTensors::open(path("two/") + file);
    ASSERT_EQ(a.names(), b.names()) << file;
    for (const std::string& name : a.names()) {
      const std::vector<float> x = a.get(name).to_vector(), y = b.get(name).to_vector();
      for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(x[i], y[i], 1e-5f) << name << " " << i;
    }
  }
  const std::vector<double> la = MetricsLog::read_column(path("one/log.csv"), "loss"),
                            lb = MetricsLog::read_column(path("two/log.csv"), "loss");
  ASSERT_EQ(la.size(), 4u);
  ASSERT_EQ(lb.size(), 4u);
  for (size_t i = 0; i < la.size(); ++i) EXPECT_NEAR(la[i], lb[i], 1e-5 * la[i]) << "step " << i;

  testing::ThreadGroup::run(3, [&](ProcessGroup& g) {
    DiTRunOptions o = tiny_run(latents, path("three"));  // batch 2
    o.group = &g;
    try {
      train_dit(o);
      ADD_FAILURE() << "a batch of 2 over 3 processes was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("train.batch must be at least 3"), std::string::npos)
          << e.what();
    }
  });
  EXPECT_FALSE(fs::exists(path("three")));
}

// train.init starts a new run from another run's weights (fine-tuning, e.g. after the autoencoder
// was retrained): step 1 of the new run starts at those weights, with fresh optimizer state; the
// latent normalization and the other training constants are the new run's own; another
// architecture (each differing key named) or a missing file is refused.
// train.accumulate takes a step's clips in parts, one forward and backward at a time: the steps
// are those of the whole batch, in one process and shared by two.
TEST_F(DiTRun, AccumulatedPartsTakeTheStepsOfTheWholeBatch) {
  const std::string latents = write_latents(path("data"));
  const auto run = [&](const std::string& out, int64_t accumulate) {
    DiTRunOptions o = tiny_run(latents, path(out));
    o.config.train.batch = 4, o.config.train.accumulate = accumulate;
    o.config.train.balance_shares = false;  // shares dealt in order, as one process takes them
    return o;
  };
  // The most memory a run's steps held at once: one part's activations, not the batch's.
  const auto peak_of = [&](const std::string& out, int64_t accumulate) {
    Allocator::cpu().reset_peak();
    EXPECT_TRUE(train_dit(run(out, accumulate)).finished);
    return Allocator::cpu().stats().peak_bytes_in_use;
  };
  const size_t whole_peak = peak_of("whole", 1);
  peak_of("parts", 2);
  EXPECT_LT(peak_of("clips", 4), whole_peak);
  testing::ThreadGroup::run(2, [&](ProcessGroup& g) {
    DiTRunOptions o = run("shared", 2);  // each process's 2 clips one at a time
    o.group = &g;
    EXPECT_TRUE(train_dit(o).finished);
  });
  const SafeTensors whole = SafeTensors::open(path("whole/dit.safetensors"));
  for (const char* out : {"parts", "clips", "shared"}) {
    const SafeTensors other = SafeTensors::open(path(out) + "/dit.safetensors");
    for (const std::string& name : whole.names()) {
      const std::vector<float> x = whole.get(name).to_vector(), y = other.get(name).to_vector();
      for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(x[i], y[i], 1e-5f) << out << " " << name;
    }
    const std::vector<double> a = MetricsLog::read_column(path("whole/log.csv"), "loss"),
                              b = MetricsLog::read_column(path(out) + "/log.csv", "loss");
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * a[i]) << out << " " << i;
  }
  // Different from a run of another batch, so the comparison above can fail.
  DiTRunOptions two = tiny_run(latents, path("two"));
  ASSERT_TRUE(train_dit(two).finished);
  EXPECT_NE(SafeTensors::open(path("two/dit.safetensors")).get(whole.names()[0]).to_vector(),
            whole.get(whole.names()[0]).to_vector());
  testing::expect_error([&] { train_dit(run("five", 5)); }, "train.accumulate 5",
                        "train.batch must be at least 5");
}

TEST_F(DiTRun, InitStartsANewRunFromAnotherRunsWeights) {
  const std::string latents = write_latents(path("data"));
  ASSERT_TRUE(train_dit(tiny_run(latents, path("a"))).finished);
  DiTRunOptions tune = tiny_run(latents, path("tune"));
  tune.config.train.init = path("a/dit.safetensors");
  tune.config.train.steps = 1, tune.config.train.lr = 1e-12f, tune.config.train.ema = 0;
  tune.config.model.latent_mean = {0.5f, 0.f, 0.f, 0.f};  // as if another autoencoder's
  tune.config.model.latent_std = {2.f, 1.f, 1.f, 1.f};
  tune.config.model.condition_rate = 0.9f, tune.config.model.condition_masks = {0, 1, 2, 3, 4};
  tune.config.model.caption_dropout = 0.5f, tune.config.model.shift_base = 2.0f;
  ASSERT_TRUE(train_dit(tune).finished);
  const SafeTensors from = SafeTensors::open(path("a/dit.safetensors"));
  const SafeTensors tuned = SafeTensors::open(path("tune/checkpoint.safetensors"));
  EXPECT_EQ(tuned.metadata().at("step"), "1");
  for (const std::string& name : from.names())
    testing::expect_close(tuned.get(name), from.get(name), 0, 1e-6f, name);
  EXPECT_NE(tuned.metadata().at("dit_config"), from.metadata().at("dit_config"));
  // Without init the same run starts elsewhere.
  DiTRunOptions fresh = tune;
  fresh.config.train.init.clear();
  fresh.out_dir = path("fresh");
  ASSERT_TRUE(train_dit(fresh).finished);
  EXPECT_NE(SafeTensors::open(path("fresh/checkpoint.safetensors"))
                .get("model.final.linear.weight")
                .to_vector(),
            from.get("model.final.linear.weight").to_vector());

  DiTRunOptions other = tune;
  other.out_dir = path("other");
  const int64_t hidden = other.config.model.hidden;
  other.config.model.hidden = 2 * hidden;
  other.config.model.depth += 1;
  testing::expect_error([&] { train_dit(other); }, "another config",
                        "hidden " + std::to_string(hidden) + " -> " + std::to_string(2 * hidden));
  testing::expect_error([&] { train_dit(other); }, "depth", "may change caption_dropout");
  DiTRunOptions missing = tune;
  missing.out_dir = path("missing");
  missing.config.train.init = path("nowhere.safetensors");
  testing::expect_error([&] { train_dit(missing); }, "train.init", "does not exist");
}

// A run whose config asks for the sentencepiece tokenizer trains one on its captions. Resuming
// and fine-tuning keep it, so the weights read the ids they were trained on, and a fine-tuning
// caption with characters it never had trains as <unk> rather than stopping the run.
TEST_F(DiTRun, SentencePieceRunsKeepTheirTokenizer) {
  const std::string latents = write_latents(path("data"));
  DiTRunOptions a = tiny_run(latents, path("a"));
  a.config.model.tokenizer = "sentencepiece";
  a.config.model.tokenizer_pieces = 64;
  a.config.train.steps = 2;
  int64_t vocab = 0;
  a.on_start = [&](const DiTRunInfo& info) { vocab = info.vocab; };
  ASSERT_TRUE(train_dit(a).finished);
  const auto tokenizer_of = [&](const std::string& file) {
    return SafeTensors::open(path(file)).metadata().at("tokenizer");
  };
  const std::string saved = tokenizer_of("a/dit.safetensors");
  const text::Tokenizer tok = text::Tokenizer::from_json(saved);
  EXPECT_TRUE(tok.same_as(text::Tokenizer::sentencepiece(kCaptions, 64)));
  EXPECT_EQ(vocab, tok.vocab_size());
  EXPECT_EQ(load_dit_checkpoint(path("a/dit.safetensors")).model->config().text.vocab,
            tok.vocab_size());
  a.config.train.steps = 3;  // resumed
  ASSERT_TRUE(train_dit(a).finished);
  EXPECT_EQ(tokenizer_of("a/checkpoint.safetensors"), saved);

  {  // the same clips under captions of new words, "z" and "q" among their characters
    std::ifstream in(latents);
    std::ofstream out(path("data/zebras.jsonl"));
    for (std::string line; std::getline(in, line);) {
      nlohmann::json j = nlohmann::json::parse(line);
      j["caption"] = "a quick zebra " + j["caption"].get<std::string>();
      out << j.dump() << "\n";
    }
  }
  DiTRunOptions tune = tiny_run(path("data/zebras.jsonl"), path("tune"));
  tune.config.model = a.config.model;
  tune.config.train.init = path("a/dit.safetensors");
  tune.config.train.steps = 2;
  ASSERT_TRUE(train_dit(tune).finished);
  EXPECT_EQ(tokenizer_of("tune/dit.safetensors"), saved);

  DiTRunOptions words = tune;  // a word tokenizer cannot read what the weights were trained on
  words.out_dir = path("words");
  words.config.model.tokenizer = "word";
  testing::expect_error([&] { train_dit(words); }, "another config", "tokenizer");
}

// In a data-parallel run process 0 trains the sentencepiece model and sends it to the others:
// every process reads the same ids (the run takes its steps), the model the one process 0 made.
TEST_F(DiTRun, SentencePieceIsTrainedOnceForAllProcesses) {
  const std::string latents = write_latents(path("data"));
  testing::ThreadGroup::run(2, [&](ProcessGroup& g) {
    DiTRunOptions o = tiny_run(latents, path("two"));
    o.group = &g;
    o.config.model.tokenizer = "sentencepiece";
    o.config.model.tokenizer_pieces = 64;
    o.config.train.steps = 1;
    EXPECT_TRUE(train_dit(o).finished);
  });
  const text::Tokenizer tok = text::Tokenizer::from_json(
      SafeTensors::open(path("two/dit.safetensors")).metadata().at("tokenizer"));
  EXPECT_TRUE(tok.same_as(text::Tokenizer::sentencepiece(kCaptions, 64)));
}

// text.tokenizer may name a tokenizer file (`cubist text tokenizer`), trained on other captions:
// words or characters it does not know are read as <unk>, and counted before the first step.
TEST_F(DiTRun, TrainsWithATokenizerFile) {
  const std::string latents = write_latents(path("data"));
  text::Tokenizer::sentencepiece({"a red circle on a navy background"}, 64).save(path("sp.json"));
  text::Tokenizer::from_words({"a", "red", "circle"}).save(path("words.json"));
  for (const std::string file : {"sp.json", "words.json"}) {
    DiTRunOptions o = tiny_run(latents, path("run_" + file));
    o.config.model.tokenizer = path(file);
    o.config.train.steps = 2;
    DiTRunInfo info;
    o.on_start = [&](const DiTRunInfo& i) { info = i; };
    ASSERT_TRUE(train_dit(o).finished) << file;
    EXPECT_EQ(info.unknown_captions, 4) << file;  // every caption has some ("small", "bouncing")
    EXPECT_STREQ(info.tokenizer, file == "sp.json" ? "sentencepiece" : "word");
    const std::string saved =
        SafeTensors::open(path("run_" + file + "/dit.safetensors")).metadata().at("tokenizer");
    EXPECT_TRUE(text::Tokenizer::from_json(saved).same_as(text::Tokenizer::load(path(file))));
    o.config.train.steps = 3;  // resumed with the same file
    ASSERT_TRUE(train_dit(o).finished) << file;
  }
  DiTRunOptions other = tiny_run(latents, path("other"));  // fine-tuned under another tokenizer
  other.config.model.tokenizer = path("words.json");
  other.config.train.init = path("run_sp.json/dit.safetensors");
  testing::expect_error([&] { train_dit(other); }, "trained with another tokenizer",
                        "than text.tokenizer " + path("words.json"));
  other.config.model.tokenizer = path("missing.json");
  testing::expect_error([&] { train_dit(other); }, "missing.json", "does not exist");

  // A file that reads more tokens than the model: captions are cut to the model's.
  DiTRunOptions short_model = tiny_run(latents, path("short"));
  short_model.config.model.tokenizer = path("sp.json");  // 64 tokens
  short_model.config.model.max_text_tokens = 3;
  short_model.config.train.steps = 1;
  DiTRunInfo info;
  short_model.on_start = [&](const DiTRunInfo& i) { info = i; };
  ASSERT_TRUE(train_dit(short_model).finished);
  EXPECT_EQ(info.long_captions, 4);  // every caption is longer than 3 tokens
}

// A sentencepiece run on videos none of which has a caption is refused before they are encoded.
TEST_F(DiTRun, SentencePieceRunsWithoutCaptionsAreRefusedBeforeCaching) {
  write_video(path("clip/"), testing::smooth_video(5, 16, 16, 8));
  write_manifest(path("videos.jsonl"), {{.path = path("clip/"), .caption = " . "}});
  testing::write_tiny_vae(path("vae.safetensors"));
  DiTRunOptions o = video_run(path("videos.jsonl"), path("vae.safetensors"), path("run"));
  o.config.model.tokenizer = "sentencepiece";
  testing::expect_error([&] { train_dit(o); }, "no video of " + path("videos.jsonl"),
                        "set text.tokenizer to \"word\"");
  EXPECT_FALSE(fs::exists(path("run")));
  o.config.model.tokenizer = "word";  // an unconditional model
  DiTRunInfo info;
  o.on_start = [&](const DiTRunInfo& i) { info = i; };
  ASSERT_TRUE(train_dit(o).finished);
  EXPECT_EQ(info.uncaptioned, 1);  // said before the first step
}

// Several latent manifests train as one: the run equals a run on one manifest that lists their
// clips in the same order. Latents of other encoder weights are refused.
TEST_F(DiTRun, TrainsOnSeveralLatentManifestsAsOne) {
  const std::string a = write_latents(path("a"), "enc1"), b = write_latents(path("b"), "enc1");
  {
    std::ofstream both(path("both.jsonl"));
    for (const std::string& m : {a, b}) {
      std::ifstream in(m);
      for (std::string line; std::getline(in, line);) {
        nlohmann::json j = nlohmann::json::parse(line);
        j["latent"] = (fs::path(m).parent_path() / j["latent"].get<std::string>()).string();
        both << j.dump() << "\n";
      }
    }
  }
  DiTRunOptions two = tiny_run(a, path("two"));
  two.config.data.latents = {a, b};
  int64_t clips = 0;
  std::string named;
  two.on_start = [&](const DiTRunInfo& info) { clips = info.clips, named = info.latents; };
  ASSERT_TRUE(train_dit(two).finished);
  EXPECT_EQ(clips, 8);
  EXPECT_EQ(named, a + ", " + b);
  ASSERT_TRUE(train_dit(tiny_run(path("both.jsonl"), path("one"))).finished);
  const SafeTensors x = SafeTensors::open(path("two/dit.safetensors"));
  const SafeTensors y = SafeTensors::open(path("one/dit.safetensors"));
  for (const std::string& name : x.names())
    EXPECT_EQ(x.get(name).to_vector(), y.get(name).to_vector()) << name;

  DiTRunOptions mixed = tiny_run(a, path("mixed"));
  mixed.config.data.latents = {a, write_latents(path("c"), "enc2")};
  testing::expect_error([&] { train_dit(mixed); }, "c/latents.jsonl",
                        "other encoder weights (enc2) than");
  EXPECT_FALSE(fs::exists(path("mixed")));  // a run that fails on its data leaves no folder
}

// A manifest of videos is encoded into OUT/cache with data.vae; samples are decoded by it; a run
// on that cache alone finds the autoencoder it records.
TEST_F(DiTRun, EncodesAManifestAndWritesSamples) {
  std::vector<ManifestEntry> entries;
  for (int i = 0; i < 3; ++i) {
    const std::string clip = path("clip" + std::to_string(i) + "/");
    write_video(clip, testing::smooth_video(i == 2 ? 1 : 5, 16, 16 + 8 * i, 8));
    entries.push_back({.path = clip, .caption = kCaptions[static_cast<size_t>(i)]});
  }
  write_manifest(path("videos.jsonl"), entries);
  testing::write_tiny_vae(path("vae.safetensors"));

  DiTRunOptions o = video_run(path("videos.jsonl"), path("vae.safetensors"), path("run"));
  DiTRunConfig& t = o.config.train;
  t.steps = 2, t.sample_every = 2, t.sample_steps = 2, t.sample_frames = 5;
  t.sample_size = "24x16";
  t.sample_prompts = {kCaptions[0], kCaptions[1]};
  // Stopped (Ctrl-C) while encoding: no step is taken, and the next run resumes the cache.
  std::atomic<bool> stop{true};
  DiTRunOptions stopped = o;
  stopped.stop = &stop;
  const DiTRunResult r = train_dit(stopped);
  EXPECT_TRUE(r.stopped_caching);
  EXPECT_FALSE(r.finished);
  EXPECT_EQ(read_latent_manifest(path("run/cache/latents.jsonl")).size(), 1u);
  EXPECT_FALSE(fs::exists(path("run/checkpoint.safetensors")));

  int64_t cached = 0;
  o.on_cache = [&](const CacheProgress& p) { cached += p.handled && p.error.empty(); };
  std::vector<std::string> samples;
  o.on_step = [&](const DiTRunStatus& s) {
    if (!s.sample.empty()) samples.push_back(s.sample);
    EXPECT_GT(s.tokens_per_s, 0);
  };
  EXPECT_TRUE(train_dit(o).finished);
  EXPECT_EQ(cached, 3);
  ASSERT_EQ(samples, std::vector<std::string>{path("run/samples/step_000002.mp4")});
  const VideoInfo info = probe_video(samples[0]);
  EXPECT_EQ(info.width, 48);  // two panels of 24x16
  EXPECT_EQ(info.height, 16);
  EXPECT_EQ(info.frames, 5);
  EXPECT_NE(info.metadata.at("comment").find("AI-generated by Cubist"), std::string::npos);
  EXPECT_EQ(read_latent_manifest(path("run/cache/latents.jsonl")).size(), 3u);

  // Train on the cache alone: samples are decoded by the autoencoder the cache recorded.
  DiTRunOptions again = tiny_run(path("run/cache/latents.jsonl"), path("run2"));
  again.config.train.sample_every = 1, again.config.train.steps = 1;
  again.config.train.sample_steps = 1, again.config.train.sample_frames = 1;
  again.config.train.sample_size = "16x16";
  std::string vae;
  again.on_start = [&](const DiTRunInfo& i) { vae = i.sample_vae; };
  train_dit(again);
  EXPECT_EQ(vae, fs::absolute(path("vae.safetensors")).lexically_normal().string());
  EXPECT_TRUE(fs::exists(path("run2/samples/step_000001.mp4")));
}

// data.clip_frames cuts a manifest's videos into clips as they are cached: 13 frames of 16x28
// into clips of 5, 5 and 1 frames, whose latents (7 wide under the autoencoder's 4) the
// transformer's patches of 2 crop to 6. The longest clip is reported.
TEST_F(DiTRun, TrainsOnClipsCutFromAManifestsVideos) {
  write_video(path("clip/"), testing::smooth_video(13, 16, 28, 8));
  write_manifest(path("videos.jsonl"), {{.path = path("clip/"), .caption = kCaptions[0]}});
  write_video(path("held/"), testing::smooth_video(9, 16, 28, 8));  // held-out videos
  write_manifest(path("held.jsonl"), {{.path = path("held/"), .caption = kCaptions[1]}});
  testing::write_tiny_vae(path("vae.safetensors"));
  DiTRunOptions o =
      video_run(path("videos.jsonl"), path("vae.safetensors"), path("run"), {.clip_frames = 5});
  o.config.data.validation = path("held.jsonl");
  DiTRunConfig& t = o.config.train;
  t.steps = 2, t.sample_every = 2, t.sample_steps = 1, t.sample_frames = 5;  // no sample_size
  t.validate_every = 1;
  o.config.model.max_text_tokens = 4;  // the caption's 9 words are cut to 4 (and sampled so)
  DiTRunInfo info;
  o.on_start = [&](const DiTRunInfo& i) { info = i; };
  EXPECT_TRUE(train_dit(o).finished);
  EXPECT_EQ(info.clips, 3);
  EXPECT_EQ(info.largest_tokens, 2 * 2 * 3);  // 2 latent frames of 4x7, cropped to 4x6
  EXPECT_EQ(info.long_captions, 3);
  EXPECT_EQ(info.longest_caption, static_cast<int64_t>(text::split_words(kCaptions[0]).size()));
  const std::vector<LatentEntry> clips = read_latent_manifest(path("run/cache/latents.jsonl"));
  ASSERT_EQ(clips.size(), 3u);
  EXPECT_EQ(clips[2].shape, (Dims{4, 1, 4, 7}));
  // The held-out videos, cut as the training ones, and measured on at every step.
  EXPECT_EQ(read_latent_manifest(path("run/cache_validation/latents.jsonl")).size(), 2u);
  EXPECT_EQ(MetricsLog::read_column(path("run/validation.csv"), "step"),
            (std::vector<double>{1, 2}));
  // Training on that cache: its cut (cut.json) cuts the held-out videos too.
  DiTRunOptions again = tiny_run(path("run/cache/latents.jsonl"), path("run2"));
  again.config.data.validation = path("held.jsonl");
  again.config.train.steps = 1, again.config.train.validate_every = 1;
  EXPECT_TRUE(train_dit(again).finished);
  EXPECT_EQ(cut_of_cache(path("run2/cache_validation/latents.jsonl")).clip_frames, 5);
  const VideoInfo sample = probe_video(path("run/samples/step_000002.mp4"));
  EXPECT_EQ(sample.width, 24);  // the first clip's size as it trains: 6 x 4 latent cells of 4
  EXPECT_EQ(sample.height, 16);
  EXPECT_NE(testing::file_bytes(path("run/config.json")).find("\"clip_frames\": 5"),
            std::string::npos);

  // The run's folder is a model: its transformer, and the autoencoder its latents record while
  // that still has the encoder that made them.
  const TextToVideoModel model = load_text_to_video(path("run"));
  EXPECT_EQ(model.vae_path, fs::absolute(path("vae.safetensors")).lexically_normal().string());
  ASSERT_EQ(model.notes.size(), 1u);
  EXPECT_NE(model.notes[0].find("holds no vae.safetensors; decoding with"), std::string::npos);
  // Or the transformer's file itself: the run's checkpoint, the autoencoder found the same way.
  const TextToVideoModel from_file = load_text_to_video(path("run/checkpoint.safetensors"));
  EXPECT_EQ(from_file.dit_path, path("run/checkpoint.safetensors"));
  EXPECT_EQ(from_file.vae_path, model.vae_path);
  testing::expect_error([&] { load_text_to_video(path("run/dti.safetensors")); },
                        "run/dti.safetensors", "no such file (--model takes a model folder");
  testing::write_tiny_vae(path("vae.safetensors"), 2);  // retrained since
  testing::expect_error([&] { load_text_to_video(path("run")); },
                        {"no vae.safetensors found", "run/vae.safetensors",
                         "now holds other encoder weights"});
  // The run's transformer records that encoder: beside the retrained autoencoder, refused.
  fs::copy_file(path("vae.safetensors"), path("run/vae.safetensors"));
  testing::expect_error([&] { load_text_to_video(path("run")); }, "is not the one whose latents",
                        "run/dit.safetensors was trained on");
  fs::remove(path("run/vae.safetensors"));
  // Nor are held-out videos encoded by it: they would be in another latent space.
  DiTRunOptions retrained = tiny_run(path("run/cache/latents.jsonl"), path("run3"));
  retrained.config.data.validation = path("held.jsonl");
  testing::expect_error([&] { train_dit(retrained); }, "held.jsonl",
                        "does not record one that is there with the encoder that made it");
}

// data.validation: the EMA weights' loss on held-out clips every validate_every steps (and at the
// last), in validation.csv, the status and the plot; the training itself is unchanged by it, and
// a resumed run writes the same values.
TEST_F(DiTRun, ValidatesOnHeldOutClips) {
  const std::string latents = write_latents(path("data"));
  const std::string held_out = write_latents(path("held"));
  const DiTRunResult plain = train_dit(tiny_run(latents, path("plain")));
  EXPECT_TRUE(plain.finished);

  DiTRunOptions o = tiny_run(latents, path("a"));
  o.config.data.validation = held_out;
  o.config.train.validate_every = 3, o.config.train.validation_clips = 3;
  std::vector<int64_t> at;
  o.on_step = [&](const DiTRunStatus& s) {
    if (s.validation_loss >= 0) at.push_back(s.step);
  };
  EXPECT_TRUE(train_dit(o).finished);
  EXPECT_EQ(at, (std::vector<int64_t>{3, 4}));
  const std::vector<double> losses = MetricsLog::read_column(path("a/validation.csv"), "loss");
  EXPECT_EQ(MetricsLog::read_column(path("a/validation.csv"), "step"), (std::vector<double>{3, 4}));
  ASSERT_EQ(losses.size(), 2u);
  for (const double l : losses) EXPECT_TRUE(std::isfinite(l) && l > 0) << l;
  EXPECT_EQ(MetricsLog::read_column(path("a/log.csv"), "loss"),
            MetricsLog::read_column(path("plain/log.csv"), "loss"));
  std::ifstream svg(path("a/loss.svg"));
  EXPECT_NE(std::string(std::istreambuf_iterator<char>(svg), {}).find("validation loss"),
            std::string::npos);

  DiTRunOptions first = o;
  first.out_dir = path("b"), first.stop_after = 3;
  train_dit(first);
  DiTRunOptions rest = o;
  rest.out_dir = path("b");
  EXPECT_TRUE(train_dit(rest).finished);
  EXPECT_EQ(MetricsLog::read_column(path("b/validation.csv"), "loss"), losses);

  DiTRunOptions empty = o;
  empty.out_dir = path("c");
  std::ofstream(path("none.jsonl")).flush();
  empty.config.data.validation = path("none.jsonl");
  testing::expect_error([&] { train_dit(empty); }, "none.jsonl", "no held-out clips");
}

// --validate-only: the held-out loss of a run's checkpoint (or of train.init) as validation.csv
// has it, with no step taken and nothing written.
TEST_F(DiTRun, ValidateOnlyMeasuresTheWeightsWithoutTraining) {
  const std::string latents = write_latents(path("data"));
  DiTRunOptions o = tiny_run(latents, path("a"));
  o.config.data.validation = write_latents(path("held"));
  o.config.train.validate_every = 4, o.config.train.validation_clips = 3;
  o.stop_after = 4;
  o.config.train.steps = 6;
  train_dit(o);  // validates at step 4 and stops there
  const std::vector<double> logged = MetricsLog::read_column(path("a/validation.csv"), "loss");
  ASSERT_EQ(logged.size(), 1u);

  DiTRunOptions v = o;
  v.validate_only = true;
  const auto written = fs::last_write_time(path("a/checkpoint.safetensors"));
  const DiTRunResult r = train_dit(v);
  EXPECT_EQ(r.end_step, 4);
  EXPECT_EQ(r.validated, path("a/checkpoint.safetensors"));
  EXPECT_EQ(r.validation_clips, 3);
  EXPECT_NEAR(r.validation_loss, logged[0], 1e-5 * logged[0]);  // the log keeps 6 digits
  EXPECT_EQ(fs::last_write_time(path("a/checkpoint.safetensors")), written);
  EXPECT_EQ(MetricsLog::read_column(path("a/validation.csv"), "loss"), logged);

  // The run's exported EMA weights as another config's train.init: the same loss, no folder.
  DiTRunOptions init = v;
  init.out_dir = path("b");
  init.config.train.init = path("a/dit.safetensors");
  init.config.train.sample_every = 1;  // samples are not made, so no autoencoder is looked for
  const DiTRunResult from_init = train_dit(init);
  EXPECT_EQ(from_init.validated, path("a/dit.safetensors"));
  EXPECT_NEAR(from_init.validation_loss, r.validation_loss, 1e-6 * r.validation_loss);
  EXPECT_FALSE(fs::exists(path("b")));

  DiTRunOptions nothing = v;
  nothing.out_dir = path("c");
  testing::expect_error([&] { train_dit(nothing); }, "--validate-only", "no weights to measure");
  DiTRunOptions unvalidated = v;
  unvalidated.config.data.validation.clear();
  testing::expect_error([&] { train_dit(unvalidated); }, "--validate-only", "no data.validation");
}

TEST_F(DiTRun, RefusesSamplesTheModelCannotMake) {
  const std::string latents = write_latents(path("data"));
  testing::write_tiny_vae(path("vae.safetensors"));
  DiTRunOptions o = tiny_run(latents, path("run"));
  o.config.data.vae = path("vae.safetensors");
  o.config.train.sample_every = 1;
  o.config.train.sample_size = "20x16";  // not a multiple of 4 x 2
  testing::expect_error([&] { train_dit(o); }, "generate", "multiples of 8");
  o.config.train.sample_size = "16x16";
  o.config.train.sample_prompts = {"a purple circle"};
  testing::expect_error([&] { train_dit(o); }, "tokenizer", "purple");
}

TEST(DiTRunConfig, ReadsTheShapesConfig) {
  const std::string path = std::string(CUBIST_SOURCE_DIR) + "/configs/dit/shapes.json";
  const DiTRunFile f = load_dit_run_config(path);
  EXPECT_EQ(f.model.latent_channels, 16);
  EXPECT_EQ(f.model.patch, (PatchSize{1, 2, 2}));
  EXPECT_EQ(f.train.sample_prompts.size(), 2u);
  ASSERT_EQ(f.data.latents.size(), 1u);
  EXPECT_TRUE(fs::path(f.data.latents[0]).is_absolute());  // resolved against the working dir
  EXPECT_EQ(f.data.latents[0],
            (fs::current_path() / "out/shapes_latents/latents.jsonl").lexically_normal().string());
  EXPECT_EQ(load_dit_config(path).hidden, f.model.hidden);  // the model section alone
  for (const std::string& p : f.train.sample_prompts)
    EXPECT_NO_THROW(text::Tokenizer::shapes_world().encode(p)) << p;
}

// The recipe for a user's own videos: a manifest cut into clips as it is cached.
TEST(DiTRunConfig, ReadsTheVideosConfig) {
  const DiTRunFile f =
      load_dit_run_config(std::string(CUBIST_SOURCE_DIR) + "/configs/dit/videos.json");
  EXPECT_TRUE(f.data.latents.empty());
  EXPECT_EQ(fs::path(f.data.manifest).filename(), "manifest.jsonl");
  EXPECT_EQ(f.data.cut, (ClipCut{.clip_frames = 17, .max_side = 256, .fps = 8.0}));
  EXPECT_NO_THROW(f.data.cut.check(VaeConfig(), "videos.json"));
  EXPECT_TRUE(f.train.sample_size.empty());       // samples at the size of the data's clips
  EXPECT_TRUE(f.train.sample_prompts.empty());    // and with its captions
  EXPECT_EQ(f.model.tokenizer, "sentencepiece");  // real captions: an open vocabulary
  EXPECT_EQ(f.model.tokenizer_pieces, 4000);
}

TEST(DiTRunConfig, NamesBadKeysAndValues) {
  const auto bad = [](const std::string& json, const std::string& part) {
    testing::expect_error([&] { parse_dit_run_config(json, "run.json"); }, "run.json", part);
  };
  const std::string model = R"("model": {"hidden": 32, "heads": 2, "depth": 1}, )";
  const std::string data = R"("data": {"latents": "x.jsonl"})";
  bad("{" + model + R"("train": {"stpes": 3}, )" + data + "}", "unknown key \"train.stpes\"");
  bad("{" + model + R"("train": {"stpes": 3}, )" + data + "}", "accepted: steps, batch");
  bad("{" + model + R"("train": {"lr": -1}, )" + data + "}", "train.lr must be > 0");
  bad("{" + model + R"("train": {"ema": 1.5}, )" + data + "}", "train.ema is a decay in [0, 1)");
  bad("{" + model + R"("train": {"min_lr_ratio": 2}, )" + data + "}",
      "train.min_lr_ratio is in [0, 1]");
  bad("{" + model + R"("train": {"batch": "8"}, )" + data + "}",
      "\"batch\" has the wrong type (\"8\"); expected a whole number");
  bad("{" + model + R"("train": {"sample_size": "96"}, )" + data + "}", "sample_size is one size");
  bad("{" + model + R"("train": {"validate_every": -1}, )" + data + "}",
      "train.validate_every must be >= 0");
  bad("{" + model + R"("train": {"validation_clips": 0}, )" + data + "}",
      "train.validation_clips must be >= 1");
  const std::string text = R"("model": {"hidden": 32, "heads": 2, "depth": 1, "text": )";
  bad("{" + text + R"({"tokenizer": "bpe"}}, )" + data + "}",
      "text.tokenizer is \"word\", \"sentencepiece\" or a tokenizer file");
  bad("{" + text + R"({"tokenizer": "sentencepiece", "pieces": 2}}, )" + data + "}", "text.pieces");
  bad("{" + model + R"("data": {"latents": "a", "manifest": "b"}})", "one of \"latents\"");
  bad("{" + model + R"("data": {"latent": "a"}})", "unknown key \"data.latent\"");
  bad("{" + model + R"("data": {"latents": []}})", "data.latents is a latent manifest");
  bad("{" + model + R"("data": {"latents": ["a", 2]}})", "or a list of them");
  bad("{" + model + R"("data": {"latents": "a", "clip_frames": 17}})",
      "cut the videos of data.manifest as they are cached");
  bad("{" + model + R"("data": {"manifest": "a", "max_side": 6.5}})",
      "\"max_side\" has the wrong type");
  bad(R"({"model": {"hiden": 3}, )" + data + "}", "unknown key \"hiden\"");
  bad("{" + data + "}", "no \"model\"");
  bad("{" + model + data + R"(, "extra": 1})",
      "unknown key \"extra\" (accepted: model, train, data)");
  // Several problems at once.
  bad("{" + model + R"("train": {"steps": 0, "lr": 0}, )" + data + "}",
      "train.steps must be >= 1; train.lr must be > 0");
}

TEST(DiTRunConfig, NamesWhatAResumedRunChanged) {
  DiTRunFile f;
  f.data.latents = {"/data/latents.jsonl"};
  const auto json = [](const DiTRunFile& r) {
    return nlohmann::ordered_json{{"train", r.train.to_json()}, {"data", r.data.to_json()}}.dump();
  };
  const std::string saved = json(f);
  EXPECT_EQ(changed_run_settings(saved, saved), std::vector<std::string>{});
  DiTRunFile g = f;
  g.train.lr = 1e-3f, g.train.steps = 99;  // a longer run is how one is extended: not a change
  g.data.validation = "/held/latents.jsonl";
  EXPECT_EQ(changed_run_settings(saved, json(g)),
            (std::vector<std::string>{"train.lr 0.0002 -> 0.001",
                                      "data.validation (unset) -> \"/held/latents.jsonl\""}));
  // A checkpoint from before a key existed: the key counts at its default.
  nlohmann::ordered_json old = nlohmann::ordered_json::parse(saved);
  old["train"].erase("validate_every");
  EXPECT_EQ(changed_run_settings(old.dump(), saved), std::vector<std::string>{});
  g = f, g.train.validate_every = 5;
  EXPECT_EQ(changed_run_settings(old.dump(), json(g)),
            std::vector<std::string>{"train.validate_every 1000 -> 5"});
  EXPECT_EQ(changed_run_settings("", saved), std::vector<std::string>{});
}

// What a checkpoint's model config and a run's differ in, key by key; fine-tuning leaves out the
// constants only training reads.
TEST(DiTRunConfig, NamesHowTwoModelConfigsDiffer) {
  DiTConfig a;
  DiTConfig b = a;
  b.depth = 3, b.condition_rate = 0.25f, b.condition_masks[3] = 4;
  EXPECT_EQ(config_differences(dit_config_json(a), dit_config_json(b), true),
            std::vector<std::string>{"depth 12 -> 3"});
  EXPECT_EQ(config_differences(dit_config_json(a), dit_config_json(b), false),
            (std::vector<std::string>{
                "condition_masks {\"ends\":1,\"first\":1,\"head\":1,\"random\":1,\"tail\":1} -> "
                "{\"ends\":4,\"first\":1,\"head\":1,\"random\":1,\"tail\":1}",
                "condition_rate 0.5 -> 0.25", "depth 12 -> 3"}));
  EXPECT_EQ(config_differences(dit_config_json(a), dit_config_json(a), false),
            std::vector<std::string>{});
}

TEST(DiTRunConfig, DataOrderVisitsEveryClipOnceAnEpoch) {
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<int> seen(7, 0);
    for (int64_t i = 0; i < 7; ++i) ++seen[static_cast<size_t>(clip_of_run(5, 7, epoch * 7 + i))];
    EXPECT_EQ(seen, std::vector<int>(7, 1));
  }
  EXPECT_EQ(clip_of_run(5, 7, 9), clip_of_run(5, 7, 9));
  std::vector<int64_t> a, b;
  for (int64_t i = 0; i < 7; ++i)
    a.push_back(clip_of_run(5, 7, i)), b.push_back(clip_of_run(6, 7, i));
  EXPECT_NE(a, b);  // another seed, another order
}

}  // namespace
}  // namespace cubist
