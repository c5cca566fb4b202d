#include "models/dit/config.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"
#include "io/json_field.h"

namespace cubist {
namespace {

using Json = nlohmann::json;

const std::set<std::string> kKeys = {"latent_channels",
                                     "patch",
                                     "hidden",
                                     "depth",
                                     "heads",
                                     "mlp_ratio",
                                     "qk_norm",
                                     "rope_theta",
                                     "freq_dim",
                                     "text",
                                     "max_text_tokens",
                                     "caption_dropout",
                                     "frame_conditioning",
                                     "condition_rate",
                                     "condition_masks",
                                     "latent_mean",
                                     "latent_std",
                                     "logit_mean",
                                     "logit_std",
                                     "shift_base",
                                     "shift_base_tokens"};
const std::set<std::string> kTextKeys = {"dim",     "depth",     "heads", "mlp_ratio",
                                         "qk_norm", "tokenizer", "pieces"};

template <typename T>
void read(const Json& j, const char* key, T& out, const std::string& where) {
  std::vector<std::string> problems;
  read_json_field(j, key, out, problems);
  if (!problems.empty()) fail(where, ": ", problems.front());
}

void check_keys(const Json& j, const std::set<std::string>& keys, const std::string& where) {
  for (const auto& [k, v] : j.items()) {
    if (keys.count(k)) continue;
    fail(where, ": unknown key \"", k, "\" (accepted: ", join(keys, ", "), ")");
  }
}

// {"tail": 2, "ends": 4}: the kinds named get their weights, the others keep theirs.
void read_masks(const Json& j, std::array<int64_t, 5>& weights, const std::string& where) {
  const std::string names = join(kConditionMasks, ", ");
  CUBIST_CHECK(j.is_object(), where,
               ": \"condition_masks\" is an object of whole-number weights by mask kind (", names,
               "), e.g. {\"ends\": 3}");
  for (const auto& [k, v] : j.items()) {
    const auto* it = std::find_if(kConditionMasks.begin(), kConditionMasks.end(),
                                  [&](const char* n) { return k == n; });
    CUBIST_CHECK(it != kConditionMasks.end(), where, ": condition_masks: unknown mask kind \"", k,
                 "\" (accepted: ", names, ")");
    CUBIST_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0, where, ": condition_masks: \"", k,
                 "\" is a whole-number weight >= 0, got ", v.dump());
    weights[static_cast<size_t>(it - kConditionMasks.begin())] = v.get<int64_t>();
  }
}

}  // namespace

DiTConfig parse_dit_config(const std::string& json_text, const std::string& where) {
  Json j;
  try {
    j = Json::parse(json_text);
  } catch (const std::exception& e) {
    fail(where, ": not valid JSON: ", e.what());
  }
  CUBIST_CHECK(j.is_object(), where, ": a DiT config is a JSON object");
  // A training config ({"model", "train", "data"}: train/dit_run.h) gives its model section.
  if (j.contains("model") && j["model"].is_object()) j = Json(j["model"]);
  check_keys(j, kKeys, where);
  DiTConfig c;
  read(j, "latent_channels", c.latent_channels, where);
  if (j.contains("patch")) {
    std::vector<int64_t> p;
    read(j, "patch", p, where);
    CUBIST_CHECK(p.size() == 3, where, ": \"patch\" is [pt, ph, pw], got ", p.size(), " numbers");
    c.patch = {p[0], p[1], p[2]};
  }
  read(j, "hidden", c.hidden, where);
  read(j, "depth", c.depth, where);
  read(j, "heads", c.heads, where);
  read(j, "mlp_ratio", c.mlp_ratio, where);
  read(j, "qk_norm", c.qk_norm, where);
  read(j, "rope_theta", c.rope_theta, where);
  read(j, "freq_dim", c.freq_dim, where);
  read(j, "max_text_tokens", c.max_text_tokens, where);
  read(j, "caption_dropout", c.caption_dropout, where);
  read(j, "frame_conditioning", c.frame_conditioning, where);
  read(j, "condition_rate", c.condition_rate, where);
  if (j.contains("condition_masks")) read_masks(j["condition_masks"], c.condition_masks, where);
  read(j, "latent_mean", c.latent_mean, where);
  read(j, "latent_std", c.latent_std, where);
  read(j, "logit_mean", c.logit_mean, where);
  read(j, "logit_std", c.logit_std, where);
  read(j, "shift_base", c.shift_base, where);
  read(j, "shift_base_tokens", c.shift_base_tokens, where);
  if (j.contains("text")) {
    const Json& t = j["text"];
    CUBIST_CHECK(t.is_object(), where,
                 ": \"text\" is an object {dim, depth, heads, mlp_ratio, qk_norm, tokenizer, "
                 "pieces}");
    check_keys(t, kTextKeys, where + " (text)");
    read(t, "dim", c.text.dim, where);
    read(t, "depth", c.text.depth, where);
    read(t, "heads", c.text.heads, where);
    read(t, "mlp_ratio", c.text.mlp_ratio, where);
    read(t, "qk_norm", c.text.qk_norm, where);
    read(t, "tokenizer", c.tokenizer, where);
    read(t, "pieces", c.tokenizer_pieces, where);
  }
  check_dit_config(c);
  return c;
}

DiTConfig load_dit_config(const std::string& path) {
  std::ifstream in(path);
  CUBIST_CHECK(in.good(), "DiT config: cannot open ", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_dit_config(ss.str(), path);
}

bool tokenizer_is_file(const DiTConfig& c) {
  return c.tokenizer.size() > 5 && c.tokenizer.ends_with(".json");
}

std::string dit_config_json(const DiTConfig& c) {
  nlohmann::ordered_json j;
  j["latent_channels"] = c.latent_channels;
  j["patch"] = {c.patch.t, c.patch.h, c.patch.w};
  j["hidden"] = c.hidden;
  j["depth"] = c.depth;
  j["heads"] = c.heads;
  j["mlp_ratio"] = c.mlp_ratio;
  j["qk_norm"] = c.qk_norm;
  j["rope_theta"] = c.rope_theta;
  j["freq_dim"] = c.freq_dim;
  j["text"] = {{"dim", c.text.dim},         {"depth", c.text.depth},
               {"heads", c.text.heads},     {"mlp_ratio", c.text.mlp_ratio},
               {"qk_norm", c.text.qk_norm}, {"tokenizer", c.tokenizer}};
  if (c.tokenizer == "sentencepiece") j["text"]["pieces"] = c.tokenizer_pieces;
  j["max_text_tokens"] = c.max_text_tokens;
  j["caption_dropout"] = c.caption_dropout;
  j["frame_conditioning"] = c.frame_conditioning;
  j["condition_rate"] = c.condition_rate;
  for (size_t k = 0; k < kConditionMasks.size(); ++k)
    j["condition_masks"][kConditionMasks[k]] = c.condition_masks[k];
  if (!c.latent_mean.empty()) {
    j["latent_mean"] = c.latent_mean;
    j["latent_std"] = c.latent_std;
  }
  j["logit_mean"] = c.logit_mean;
  j["logit_std"] = c.logit_std;
  j["shift_base"] = c.shift_base;
  j["shift_base_tokens"] = c.shift_base_tokens;
  return j.dump(2);
}

void check_dit_config(const DiTConfig& c) {
  CUBIST_CHECK(c.latent_channels > 0 && c.patch.t > 0 && c.patch.h > 0 && c.patch.w > 0,
               "DiT config: latent_channels and the patch sizes must be positive");
  CUBIST_CHECK(
      c.hidden > 0 && c.heads > 0 && c.hidden % c.heads == 0 && (c.hidden / c.heads) % 2 == 0,
      "DiT config: hidden (", c.hidden, ") must be a multiple of heads (", c.heads,
      ") with an even head dim (for rotary embedding)");
  CUBIST_CHECK(c.depth >= 1 && c.mlp_ratio > 0, "DiT config: depth >= 1 and mlp_ratio > 0");
  CUBIST_CHECK(c.freq_dim >= 2 && c.freq_dim % 2 == 0, "DiT config: freq_dim must be even, got ",
               c.freq_dim);
  CUBIST_CHECK(c.text.dim > 0 && c.text.heads > 0 && c.text.dim % c.text.heads == 0 &&
                   (c.text.dim / c.text.heads) % 2 == 0 && c.text.depth >= 0,
               "DiT config: text.dim (", c.text.dim, ") must be a multiple of text.heads (",
               c.text.heads, ") with an even head dim");
  CUBIST_CHECK(c.tokenizer == "word" || c.tokenizer == "sentencepiece" || tokenizer_is_file(c),
               "DiT config: text.tokenizer is \"word\", \"sentencepiece\" or a tokenizer file "
               "(.json, from `cubist text tokenizer`), got \"",
               c.tokenizer, "\"");
  CUBIST_CHECK(c.tokenizer_pieces >= 8,
               "DiT config: text.pieces (the sentencepiece tokenizer's most pieces) must be at "
               "least 8, got ",
               c.tokenizer_pieces);
  CUBIST_CHECK(c.caption_dropout >= 0 && c.caption_dropout <= 1,
               "DiT config: caption_dropout is a share in [0, 1], got ", c.caption_dropout);
  CUBIST_CHECK(c.latent_mean.size() == c.latent_std.size() &&
                   (c.latent_mean.empty() ||
                    static_cast<int64_t>(c.latent_mean.size()) == c.latent_channels),
               "DiT config: latent_mean and latent_std give one number per latent channel (",
               c.latent_channels, "), or are both absent; got ", c.latent_mean.size(), " and ",
               c.latent_std.size());
  for (float sd : c.latent_std)
    CUBIST_CHECK(sd > 0, "DiT config: latent_std must be positive, got ", sd);
  CUBIST_CHECK(c.condition_rate >= 0 && c.condition_rate <= 1,
               "DiT config: condition_rate is a share in [0, 1], got ", c.condition_rate);
  int64_t masks = 0;
  for (int64_t w : c.condition_masks) {
    CUBIST_CHECK(w >= 0, "DiT config: condition_masks weights are >= 0, got ", w);
    masks += w;
  }
  CUBIST_CHECK(masks > 0, "DiT config: condition_masks needs a weight above 0 for some kind");
  CUBIST_CHECK(
      c.logit_std > 0 && c.shift_base > 0 && c.shift_base_tokens > 0 && c.max_text_tokens > 0,
      "DiT config: logit_std, shift_base, shift_base_tokens and max_text_tokens must be "
      "positive");
}

namespace {

// out[c] = (x[c] - shift[c]) * mul[c] per channel of [C, ...].
Tensor per_channel(const Tensor& x, const std::vector<float>& shift,
                   const std::vector<float>& mul) {
  CUBIST_CHECK(x.dim() >= 1 && x.size(0) == static_cast<int64_t>(shift.size()),
               "latent normalization: latents ", x.shape(), " must have ", shift.size(),
               " channels first");
  const Tensor c = x.contiguous();
  Tensor out = Tensor::empty(x.shape());
  const int64_t n = x.numel() / x.size(0);
  const float* px = c.data<float>();
  float* po = out.data<float>();
  for (size_t ch = 0; ch < shift.size(); ++ch)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = static_cast<int64_t>(ch) * n + i;
      po[k] = (px[k] - shift[ch]) * mul[ch];
    }
  return out;
}

}  // namespace

Tensor normalize_latents(const DiTConfig& c, const Tensor& z) {
  if (c.latent_mean.empty()) return z;
  std::vector<float> inv(c.latent_std.size());
  for (size_t i = 0; i < inv.size(); ++i) inv[i] = 1.0f / c.latent_std[i];
  return per_channel(z, c.latent_mean, inv);
}

Tensor denormalize_latents(const DiTConfig& c, const Tensor& x) {
  if (c.latent_mean.empty()) return x;
  // x * std + mean = (x + mean / std) * std
  std::vector<float> shift(c.latent_mean.size());
  for (size_t i = 0; i < shift.size(); ++i) shift[i] = -c.latent_mean[i] / c.latent_std[i];
  return per_channel(x, shift, c.latent_std);
}

}  // namespace cubist
