#include "train/dit_trainer.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "autograd/basic.h"
#include "autograd/var.h"
#include "core/error.h"
#include "core/strings.h"
#include "diffusion/dit_flow.h"
#include "ops/elementwise.h"
#include "train/lr_schedule.h"

namespace cubist {
namespace {

constexpr uint64_t kTrainStream = 0x747261696e;  // "train"

DiTConfig with_vocab(DiTConfig c, const text::Tokenizer& tok) {
  c.text.vocab = tok.vocab_size();
  c.max_text_tokens = std::min(c.max_text_tokens, tok.max_tokens());
  return c;
}

// Model weights under "model.", so that one file holds them beside the optimizer's moments.
NamedTensors prefixed(const NamedTensors& t, const std::string& prefix) {
  NamedTensors out;
  for (const auto& [name, value] : t) out.push_back({prefix + name, value});
  return out;
}

// The weights under `prefix` ("model.": the weights; "ema.": a checkpoint's moving average).
void load_model(DiT& model, const SafeTensors& file, const std::string& prefix = "model.") {
  for (NamedParam p : model.parameters()) {
    const std::string name = prefix + p.name;
    CUBIST_CHECK(file.contains(name), file.path(), ": parameter '", name,
                 "' is missing (a checkpoint of another architecture?)");
    const Tensor t = file.get(name);
    CUBIST_CHECK(t.shape() == p.var.shape(), file.path(), ": parameter '", name, "' has shape ",
                 t.shape(), " but this model expects ", p.var.shape());
    p.var.value().copy_(t);
  }
}

const std::string& meta(const SafeTensors& f, const std::string& key) {
  auto it = f.metadata().find(key);
  CUBIST_CHECK(it != f.metadata().end(), f.path(), ": not a DiT checkpoint (no \"", key,
               "\" in its metadata)");
  return it->second;
}

}  // namespace

const std::set<std::string> kTrainingConstants = {
    "caption_dropout", "condition_masks", "condition_rate", "latent_mean",      "latent_std",
    "logit_mean",      "logit_std",       "shift_base",     "shift_base_tokens"};

std::vector<std::string> config_differences(const std::string& was, const std::string& is,
                                            bool skip_training_constants) {
  const nlohmann::json a = nlohmann::json::parse(was), b = nlohmann::json::parse(is);
  std::set<std::string> keys;
  for (const nlohmann::json* j : {&a, &b})
    for (const auto& item : j->items()) keys.insert(item.key());
  std::vector<std::string> out;
  for (const std::string& k : keys) {
    if (skip_training_constants && kTrainingConstants.count(k)) continue;
    const std::string before = a.contains(k) ? a[k].dump() : "(unset)",
                      after = b.contains(k) ? b[k].dump() : "(unset)";
    if (before != after) out.push_back(k + " " + before + " -> " + after);
  }
  return out;
}

DiTTrainer::DiTTrainer(const DiTConfig& config, text::Tokenizer tokenizer, DiTTrainConfig train,
                       uint64_t init_seed)
    // The model and its tokenizer read as many prompt tokens: the fewer of the two.
    : config_(with_vocab(config, tokenizer)),
      tokenizer_(tokenizer.reading_at_most(config_.max_text_tokens)),
      train_(train) {
  CUBIST_CHECK(train.warmup_steps >= 0 && train.adam.lr > 0,
               "DiT trainer: needs lr > 0 and warmup_steps >= 0");
  CUBIST_CHECK(train.min_lr_ratio >= 0 && train.min_lr_ratio <= 1,
               "DiT trainer: min_lr_ratio is in [0, 1], got ", train.min_lr_ratio);
  Generator init(init_seed);
  model_ = std::make_unique<DiT>(config_, init);
  opt_ = std::make_unique<AdamW>(model_->parameters(), train.adam);
  if (train.ema_decay > 0) {
    Generator unused(0);
    ema_model_ = std::make_unique<DiT>(config_, unused);
    ema_ = std::make_unique<Ema>(model_->parameters(), ema_model_->parameters(), train.ema_decay);
  }
}

float DiTTrainer::lr_at(int64_t step) const {
  return LrSchedule{train_.adam.lr, train_.warmup_steps, train_.total_steps, train_.min_lr_ratio}
      .at(step);
}

DiTTrainStats DiTTrainer::step(const std::vector<Tensor>& latents,
                               const std::vector<std::string>& captions, ProcessGroup* group,
                               const std::vector<int64_t>& places) {
  CUBIST_CHECK(latents.size() == captions.size(), "DiT trainer: ", latents.size(), " clips but ",
               captions.size(), " captions");
  Prompts prompts;
  for (const std::string& c : captions)
    prompts.push_back(tokenizer_.encode_caption(c, train_.lenient_captions));
  const Generator draws =
      Generator(train_.seed, kTrainStream).substream(static_cast<uint64_t>(opt_->steps()));
  int64_t tokens = 0;
  for (const Tensor& x : latents) tokens += patch_grid(x.shape(), config_.patch).tokens();
  // The step's loss is the mean over every part's and every process's elements: sums travel,
  // not means. {loss x elements, elements, tokens, captions dropped}
  double totals[4] = {0, 0, static_cast<double>(tokens), 0};
  const auto count = [&](const FlowLoss& l) {
    totals[0] += static_cast<double>(l.loss.item()) * l.elements;
    totals[1] += l.elements;
    totals[3] += static_cast<double>(std::count(l.dropped.begin(), l.dropped.end(), true));
  };
  const auto n = static_cast<int64_t>(latents.size());
  const int64_t parts = std::clamp<int64_t>(train_.accumulate, 1, std::max<int64_t>(n, 1));
  if (parts == 1) {
    const FlowLoss l = flow_matching_loss(*model_, latents, prompts, draws, places);
    l.loss.backward();
    count(l);
    if (group && group->size() > 1) {
      group->all_reduce_sum(totals, 4);
      sum_gradients(opt_->params(), static_cast<float>(l.elements / totals[1]), *group);
    }
  } else {
    // Each part's gradient enters weighted by its elements (the loss is their mean), and the sum
    // is divided by all of them at the end. A clip keeps its place in the batch, so it draws
    // what it would have drawn in one part.
    for (int64_t k = 0; k < parts; ++k) {
      const int64_t begin = n * k / parts, end = n * (k + 1) / parts;
      std::vector<Tensor> part(latents.begin() + begin, latents.begin() + end);
      Prompts part_prompts(prompts.begin() + begin, prompts.begin() + end);
      std::vector<int64_t> part_places;
      for (int64_t i = begin; i < end; ++i)
        part_places.push_back(places.empty() ? i : places[static_cast<size_t>(i)]);
      const FlowLoss l = flow_matching_loss(*model_, part, part_prompts, draws, part_places);
      scale(l.loss, static_cast<float>(l.elements)).backward();
      count(l);
    }
    if (group && group->size() > 1) {
      group->all_reduce_sum(totals, 4);
      sum_gradients(opt_->params(), static_cast<float>(1.0 / totals[1]), *group);
    } else {
      for (const NamedParam& p : opt_->params()) {
        Var v = p.var;
        if (!v.grad().defined()) continue;
        if (!v.grad().is_contiguous()) v.grad() = v.grad().contiguous();
        ops::scale_(v.grad(), static_cast<float>(1.0 / totals[1]));
      }
    }
  }
  DiTTrainStats s;
  s.loss = static_cast<float>(totals[0] / totals[1]);
  s.grad_norm = clip_grad_norm(opt_->params(), train_.grad_clip);
  s.lr = lr_at(opt_->steps());
  opt_->step(s.lr);
  opt_->zero_grad();
  if (ema_) ema_->update();
  s.step = opt_->steps();
  s.tokens = static_cast<int64_t>(totals[2]);
  s.dropped = static_cast<int64_t>(totals[3]);
  return s;
}

float DiTTrainer::validation_loss(const std::vector<Tensor>& latents,
                                  const std::vector<std::string>& captions, int64_t batch,
                                  uint64_t seed) const {
  CUBIST_CHECK(!latents.empty() && latents.size() == captions.size() && batch >= 1,
               "DiT validation: ", latents.size(), " clips, ", captions.size(),
               " captions and batches of ", batch, " (one caption a clip, at least one clip)");
  NoGrad no_grad;
  Generator gen(seed);
  double sum = 0;
  const size_t n = latents.size(), b = static_cast<size_t>(batch);
  for (size_t start = 0; start < n; start += b) {
    const size_t end = std::min(n, start + b);
    const std::vector<Tensor> clips(latents.begin() + start, latents.begin() + end);
    Prompts prompts;
    for (size_t i = start; i < end; ++i)
      prompts.push_back(tokenizer_.encode_caption(captions[i], true));
    std::vector<int64_t> places(end - start);
    std::iota(places.begin(), places.end(), static_cast<int64_t>(start));
    sum += static_cast<double>(
               flow_matching_loss(sampling_model(), clips, prompts, gen, places).loss.item()) *
           static_cast<double>(end - start);
  }
  return static_cast<float>(sum / static_cast<double>(n));
}

std::map<std::string, std::string> DiTTrainer::metadata(
    const std::map<std::string, std::string>& extra) const {
  std::map<std::string, std::string> meta = extra;
  meta["step"] = std::to_string(opt_->steps());
  meta["dit_config"] = dit_config_json(config_);
  meta["tokenizer"] = tokenizer_.to_json();
  return meta;
}

void DiTTrainer::save(const std::string& path, const std::map<std::string, std::string>& extra,
                      bool write) const {
  NamedTensors t = prefixed(model_->state_dict(), "model.");
  if (ema_) {
    const NamedTensors avg = ema_->state();
    t.insert(t.end(), avg.begin(), avg.end());
  }
  std::map<std::string, std::string> meta = metadata(extra);
  meta["ema_decay"] = std::to_string(train_.ema_decay);
  save_checkpoint(path, t, *opt_, meta, write);
}

void DiTTrainer::save_weights(const std::string& path,
                              const std::map<std::string, std::string>& extra) const {
  std::map<std::string, std::string> meta = metadata(extra);
  meta["weights"] = ema_ ? "ema" : "last";
  save_safetensors(path, prefixed(sampling_model().state_dict(), "model."), meta);
}

void DiTTrainer::check_same_model(const SafeTensors& f, const std::string& path,
                                  bool fine_tuning) const {
  const DiTConfig c = with_vocab(parse_dit_config(meta(f, "dit_config"), path), tokenizer_);
  const std::vector<std::string> differ =
      config_differences(dit_config_json(c), dit_config_json(config_), fine_tuning);
  std::string listed;
  for (const std::string& d : differ) listed += "\n  " + d;
  const std::string free = join(kTrainingConstants, ", ");
  CUBIST_CHECK(differ.empty(), path, ": a model of another config than this run's (the file's -> ",
               "this run's):", listed,
               fine_tuning ? "\n(fine-tuning keeps the architecture; it may change " + free + ")"
                           : "\n(a resumed run keeps its model config)");
  CUBIST_CHECK(text::Tokenizer::from_json(meta(f, "tokenizer"), path).same_as(tokenizer_), path,
               ": trained with another tokenizer vocabulary than this run's captions give; "
               "train on captions with the same words");
}

void DiTTrainer::restart_ema() {
  if (ema_)
    ema_ = std::make_unique<Ema>(model_->parameters(), ema_model_->parameters(), train_.ema_decay);
}

void DiTTrainer::load(const std::string& path) {
  const SafeTensors f = SafeTensors::open(path);
  check_same_model(f, path, false);
  load_model(*model_, f);
  const int64_t step = f.metadata_int("step");
  opt_->load_state(f, step);
  if (ema_ && f.contains("ema." + model_->parameters().front().name))
    ema_->load_state(f, step);
  else  // a run that had no EMA: the average starts from the loaded weights
    restart_ema();
}

void DiTTrainer::load_weights(const std::string& path) {
  const SafeTensors f = SafeTensors::open(path);
  check_same_model(f, path, true);
  load_model(*model_, f);
  restart_ema();
}

LoadedDiT load_dit_checkpoint(const std::string& path) {
  const SafeTensors f = SafeTensors::open(path);
  LoadedDiT out{nullptr, text::Tokenizer::from_json(meta(f, "tokenizer"), path)};
  const DiTConfig c = with_vocab(parse_dit_config(meta(f, "dit_config"), path), out.tokenizer);
  Generator gen(0);
  out.model = std::make_unique<DiT>(c, gen);
  // A checkpoint holds the last weights and their moving average; the average is what samples
  // and the exported dit.safetensors use, so generating from the checkpoint uses it too.
  const bool averaged = f.contains("ema." + out.model->parameters().front().name);
  load_model(*out.model, f, averaged ? "ema." : "model.");
  return out;
}

}  // namespace cubist
