#include "pipeline/file_info.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "data/latent_cache.h"
#include "data/manifest.h"
#include "io/safetensors.h"
#include "io/sha256.h"
#include "io/video.h"
#include "models/model_files.h"
#include "models/text/tokenizer.h"
#include "models/vae/config.h"
#include "models/vae/latent_io.h"
#include "models/vae/vae.h"
#include "pipeline/text_to_video.h"

namespace cubist {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

// The tensors of a weights file and their values, leaving out those whose names start with one
// of `skip` (a checkpoint's optimizer moments, its moving average).
struct TensorCounts {
  int64_t tensors = 0, values = 0, bf16 = 0;
  const char* dtype() const {
    return bf16 == tensors ? "bf16" : bf16 == 0 ? "f32" : "f32 and bf16";
  }
};
TensorCounts count_tensors(const SafeTensors& f, const std::vector<std::string>& skip = {}) {
  TensorCounts c;
  for (const std::string& name : f.names()) {
    bool skipped = false;
    for (const std::string& p : skip) skipped = skipped || name.starts_with(p);
    if (skipped) continue;
    ++c.tensors;
    c.values += f.shape(name).numel();
    c.bf16 += f.file_dtype(name) == FileDType::BF16;
  }
  return c;
}

// Seconds as hours, to two decimals.
double hours(double seconds) { return std::round(seconds / 36.0) / 100.0; }

bool has_tensor_prefix(const SafeTensors& f, const std::string& prefix) {
  for (const std::string& name : f.names())
    if (name.starts_with(prefix)) return true;
  return false;
}

// What every weights file records of its training, where it does: the step it was saved at, of
// how many its run asked for (`config_key`'s JSON holds them, under "train" for a transformer).
void add_training(Json& j, const SafeTensors& f, const std::string& config_key) {
  if (f.metadata().count("step")) j["step"] = f.metadata_int("step");
  if (const std::string c = f.metadata_text(config_key, ""); !c.empty()) {
    const nlohmann::json run = nlohmann::json::parse(c, nullptr, false);
    const nlohmann::json& train = run.contains("train") ? run["train"] : run;
    if (train.is_object() && train.contains("steps") && train["steps"].is_number_integer())
      j["of_steps"] = train["steps"];
  }
  if (f.metadata().count("elapsed_s")) j["training_hours"] = hours(f.metadata_number("elapsed_s"));
  if (const std::string d = f.metadata_text("data", ""); !d.empty()) j["data"] = d;
  if (const std::string e = f.metadata_text("exported_from", ""); !e.empty())
    j["exported_from"] = e;
}

Json describe_transformer(const SafeTensors& f) {
  Json j;
  const bool checkpoint = f.metadata().count("ema_decay") != 0;
  j["kind"] = checkpoint ? "transformer checkpoint" : "transformer";
  const nlohmann::json c = nlohmann::json::parse(f.metadata_text("dit_config", ""));
  const TensorCounts n = count_tensors(f, {"adam.", "ema."});
  j["parameters"] = n.values;
  j["dtype"] = n.dtype();
  Json model;
  for (const char* key : {"hidden", "depth", "heads", "patch", "latent_channels", "mlp_ratio",
                          "qk_norm", "frame_conditioning"})
    if (c.contains(key)) model[key] = c[key];
  if (c.contains("text")) model["text_encoder"] = c["text"];
  j["model"] = model;
  const text::Tokenizer t = text::Tokenizer::from_json(f.metadata_text("tokenizer", ""), f.path());
  j["tokenizer"] = {
      {"type", t.type()}, {"vocabulary", t.vocab_size()}, {"max_tokens", t.max_tokens()}};
  if (const std::string w = f.metadata_text("weights", ""); !w.empty())
    j["weights"] = w == "ema" ? "the moving average (EMA)" : "the last step's";
  if (checkpoint) j["ema_decay"] = f.metadata_number("ema_decay");
  add_training(j, f, "run_config");
  return j;
}

Json describe_autoencoder(const SafeTensors& f) {
  Json j;
  const bool checkpoint = has_tensor_prefix(f, "adam.");
  j["kind"] = checkpoint ? "autoencoder checkpoint" : "autoencoder";
  const VaeConfig c = read_vae_config(f);
  const TensorCounts n = count_tensors(f, {"adam."});
  j["parameters"] = n.values;
  j["dtype"] = n.dtype();
  j["compression"] = c.summary();
  j["config"] = c.to_json();
  add_training(j, f, "train_config");
  return j;
}

Json describe_latent(const std::string& path) {
  const LatentFile l = load_latent(path);
  Json j;
  j["kind"] = "latent";
  j["shape"] = l.latent.shape().str();
  j["video"] = {{"frames", l.frames}, {"width", l.width}, {"height", l.height}, {"fps", l.fps}};
  j["compression"] = l.config.summary();
  if (!l.source.empty()) j["source"] = l.source;
  if (l.start_frame > 0) j["start_frame"] = l.start_frame;
  if (!l.caption.empty()) j["caption"] = l.caption;
  if (!l.vae.empty()) j["autoencoder"] = l.vae;
  if (l.refine_steps > 0)
    j["refined"] = {{"steps", l.refine_steps},
                    {"lr", as_given(l.refine_lr)},
                    {"chunk_latents", l.refine_plan.chunk_latents},
                    {"lookahead", l.refine_plan.lookahead}};
  return j;
}

Json describe_safetensors(const std::string& path) {
  const SafeTensors f = SafeTensors::open(path);
  const std::string format = f.metadata_text("format", "");
  if (format == kLatentFormat) return describe_latent(path);
  if (format == kVaeFormat) return describe_autoencoder(f);
  if (f.metadata().count("dit_config")) return describe_transformer(f);
  fail(path,
       ": a safetensors file, but not one of Cubist's (no transformer config, and its "
       "\"format\" is \"",
       format, "\" where an autoencoder's is \"", kVaeFormat, "\" and a latent's \"", kLatentFormat,
       "\")");
}

// The model files a record names, compared by SHA-256 with those of the model `generate` would
// use now (find_model_paths: a run's folder takes the autoencoder its latents record).
Json made_by(const Json& record, const std::string& model_dir) {
  Json j;
  if (!record.contains("model")) return j;
  ModelPaths paths;
  try {
    paths = find_model_paths(model_dir);
  } catch (const Error& e) {
    j["checked"] = false;
    j["why"] = e.what();
    return j;
  }
  j["checked"] = true;
  j["transformer"] = paths.dit;
  j["autoencoder"] = paths.vae;
  std::vector<std::string> differ;
  for (const auto& [role, path] : {std::pair{"dit", paths.dit}, std::pair{"vae", paths.vae}})
    if (record["model"].contains(role) &&
        sha256_file(path) != record["model"][role].value("sha256", Json()))
      differ.push_back(fs::path(path).filename().string());
  j["same_model"] = differ.empty();
  if (!differ.empty()) j["differ"] = differ;
  return j;
}

// A generation's record: what it says, checked against the model, and the command that makes
// the video again (with how it ran, `run`, where the record lacks it: the tags leave it out).
void add_provenance(Json& j, const Json& record, const std::string& out,
                    const std::string& model_dir, const Json& run = Json()) {
  j["provenance"] = record;
  Json ran = record;
  if (!ran.contains("run") && !run.is_null()) ran["run"] = run;
  // Without --model, the model folder the generation named (only the record beside the video
  // says), else the default one.
  std::string dir = model_dir;
  if (dir.empty() && ran.contains("run") && ran["run"].is_object() &&
      ran["run"].contains("model") && ran["run"]["model"].is_string())
    dir = ran["run"]["model"].get<std::string>();
  j["made_by"] = made_by(record, dir);
  // The model named when it is the one: the command then makes the same video.
  const bool named = !dir.empty() && j["made_by"].value("same_model", false);
  try {
    j["command"] = generate_command(ran, out, named ? dir : "");
  } catch (const Error& e) {  // what the file holds is still shown; only the command is missing
    j["command_note"] = std::string("no command can be made from this record: ") + e.what();
    return;
  }
  if (j["made_by"].value("checked", false) && !j["made_by"].value("same_model", true))
    j["command_note"] = "the model at hand (" + (dir.empty() ? std::string("the default") : dir) +
                        ") is not the one that made it (its files' SHA-256 differ): the command "
                        "makes the same video only with that model, given by --model";
  else if (!ran.contains("run"))
    j["command_note"] =
        "the same bytes come at the thread count that made it, which only the "
        "record beside the video (" +
        fs::path(sidecar_path(out)).filename().string() + ") says";
}

std::optional<Json> read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    return Json::parse(in);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

bool is_generation_record(const Json& j) {
  return j.is_object() && j.contains("generator") && j["generator"] == "Cubist" &&
         j.contains("prompt");
}

Json describe_video(const std::string& path, const std::string& model_dir) {
  const VideoInfo v = probe_video(path);
  Json j;
  j["kind"] = v.frames == 1 ? "image" : "video";
  j["frames"] = v.frames;
  j["width"] = v.width;
  j["height"] = v.height;
  j["fps"] = v.fps;
  j["duration_s"] = v.duration;
  j["codec"] = v.codec;
  // A training run's samples carry a comment, not a record: what it says is what they are.
  if (const auto c = v.metadata.find("comment"); c != v.metadata.end()) {
    j["comment"] = c->second;
    if (c->second.rfind("AI-generated by Cubist (training sample", 0) == 0)
      j["kind"] = "training sample (AI-generated)";
  }
  // The record beside the video: the provenance where the tags hold none, and how it ran, which
  // the tags leave out (so that a seed gives the same bytes).
  const std::string side_path = sidecar_path(path);
  std::optional<Json> side = read_json_file(side_path);
  if (side && !is_generation_record(*side)) side.reset();
  std::optional<Json> record;
  if (const auto tag = v.metadata.find("provenance"); tag != v.metadata.end()) {
    try {
      record = Json::parse(tag->second);
      j["provenance_from"] = "the video's metadata";
    } catch (const nlohmann::json::exception&) {
      j["provenance_from"] = "the video's metadata, which is not JSON";
    }
  }
  // A record of other frames or another size is not this video's (a copied record, or a video
  // replaced since): shown as such, not taken.
  if (!record && side) {
    const auto differs = [&](const char* key, int64_t have) {
      return side->contains(key) && (*side)[key].is_number_integer() &&
             (*side)[key].get<int64_t>() != have;
    };
    if (differs("frames", v.frames) || differs("width", v.width) || differs("height", v.height))
      j["provenance_note"] =
          side_path + " records a video of " + side->value("frames", Json()).dump() + " frames, " +
          side->value("width", Json()).dump() + "x" + side->value("height", Json()).dump() +
          ", not this one: it is not this video's record";
    else
      record = side;
    if (record) j["provenance_from"] = side_path;
  }
  if (record && is_generation_record(*record)) {
    j["kind"] = v.frames == 1 ? "generated image" : "generated video";
    Json run;  // the sidecar's, where it is the same generation's
    if (side && side->value("seed", Json()) == record->value("seed", Json()) &&
        side->value("prompt", Json()) == record->value("prompt", Json()))
      run = side->value("run", Json());
    add_provenance(j, *record, path, model_dir, run);
  }
  return j;
}

Json describe_json(const std::string& path, const std::string& model_dir) {
  const std::optional<Json> j = read_json_file(path);
  CUBIST_CHECK(j.has_value(), path, ": not a JSON file that can be read");
  Json out;
  if (is_generation_record(*j)) {
    out["kind"] = "provenance record";
    std::string video = path.substr(0, path.size() - 5);  // OUT.json is OUT's record
    if (fs::is_directory(video)) video += "/";
    add_provenance(out, *j, video, model_dir);
    return out;
  }
  if (j->is_object() && j->contains("type") && j->contains("max_tokens")) {
    const text::Tokenizer t = text::Tokenizer::load(path);
    out["kind"] = "tokenizer";
    out["type"] = t.type();
    out["vocabulary"] = t.vocab_size();
    out["max_tokens"] = t.max_tokens();
    return out;
  }
  fail(path,
       ": JSON, but neither a tokenizer (`cubist text tokenizer`) nor the provenance "
       "record of a generated video");
}

Json describe_manifest(const std::string& path) {
  Json j;
  if (lists_videos(path)) {
    const std::vector<ManifestEntry> entries = read_manifest(path);
    int64_t captioned = 0, frames = 0;
    double seconds = 0;
    std::vector<std::string> missing;  // moved or deleted since it was indexed
    std::error_code ec;
    for (const ManifestEntry& e : entries) {
      captioned += !e.caption.empty();
      frames += e.frames;
      seconds += e.duration;
      if (!fs::exists(e.path, ec)) missing.push_back(e.path);
    }
    j["kind"] = "video manifest";
    j["videos"] = entries.size();
    j["captioned"] = captioned;
    j["frames"] = frames;
    j["hours"] = hours(seconds);
    if (!missing.empty()) {
      j["missing"] = missing.size();
      j["missing_first"] = missing.front();
    }
    return j;
  }
  const std::vector<LatentEntry> entries = read_latent_manifest(path);
  j["kind"] = "latent manifest";
  j["clips"] = entries.size();
  int64_t captioned = 0, missing = 0;
  std::error_code ec;
  for (const LatentEntry& e : entries) {
    captioned += !e.caption.empty();
    missing += !fs::exists(e.latent, ec);
  }
  j["captioned"] = captioned;
  if (missing > 0) j["missing"] = missing;
  return j;
}

// A training log's rows and its last row, by the header's names.
Json last_row(const std::string& csv) {
  std::ifstream in(csv);
  std::string header, line, last;
  std::getline(in, header);
  int64_t rows = 0;
  while (std::getline(in, line))
    if (!line.empty()) last = line, ++rows;
  Json j;
  j["rows"] = rows;
  if (rows == 0) return j;
  std::stringstream names(header), values(last);
  Json row;
  for (std::string name, value; std::getline(names, name, ',') && std::getline(values, value, ',');)
    row[name] = value;
  j["last"] = row;
  return j;
}

// A model folder, or a training run's: the files in it that Cubist knows.
std::optional<Json> describe_folder(const std::string& path) {
  Json holds = Json::object();
  for (const char* name : {kDiTFile, kVaeFile, "checkpoint.safetensors"})
    if (fs::is_regular_file(fs::path(path) / name))
      holds[name] = describe_safetensors((fs::path(path) / name).string());
  if (fs::is_regular_file(fs::path(path) / "latents.jsonl"))
    holds["latents.jsonl"] = describe_manifest((fs::path(path) / "latents.jsonl").string());
  for (const char* name : {"log.csv", "validation.csv"})
    if (fs::is_regular_file(fs::path(path) / name))
      holds[name] = last_row((fs::path(path) / name).string());
  if (holds.empty()) return std::nullopt;
  Json j;
  j["kind"] = "folder";
  j["holds"] = holds;
  return j;
}

// A word for the shell: as it is when it is safe there, else in single quotes.
std::string shell_word(const std::string& s) {
  const bool plain = !s.empty() && s.find_first_not_of(
                                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM"
                                       "NOPQRSTUVWXYZ0123456789-_./=:,+") == std::string::npos;
  if (plain) return s;
  std::string q = "'";
  for (const char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// r[key] as a T, or an Error that names the field and says what it should hold: a record edited
// by hand, or written by another program, may hold anything.
template <typename T>
T field(const Json& r, const std::string& key, const char* should) {
  try {
    return r.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    std::string held = r.contains(key) ? r[key].dump() : "missing";
    if (held.size() > 40) held = held.substr(0, 40) + "...";
    fail("the record's \"", key, "\" is ", held, "; it should be ", should);
  }
}

// r[key] as a T where it is there, else `fallback`.
template <typename T>
T field_or(const Json& r, const std::string& key, T fallback, const char* should) {
  return r.contains(key) ? field<T>(r, key, should) : fallback;
}

std::string whole(const Json& r, const std::string& key) {
  return std::to_string(field<int64_t>(r, key, "a whole number"));
}

std::string number(const Json& r, const std::string& key) {
  const double v = field<double>(r, key, "a number");
  CUBIST_CHECK(std::isfinite(v), "the record's \"", key, "\" is ", v, "; it should be finite");
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string string_field(const Json& r, const std::string& key) {
  return field<std::string>(r, key, "a string");
}

}  // namespace

std::string generate_command(const nlohmann::ordered_json& r, const std::string& out,
                             const std::string& model_dir) {
  CUBIST_CHECK(is_generation_record(r),
               "not the provenance record of a generated video (it has no \"generator\": "
               "\"Cubist\" and \"prompt\")");
  const std::string mode = field_or<std::string>(r, "mode", "text", "a string");
  std::vector<std::string> w = {"cubist", "generate", string_field(r, "prompt"), "-o", out};
  if (!model_dir.empty()) w.insert(w.end(), {"--model", model_dir});
  const auto add = [&](const std::string& flag, const std::string& value) {
    w.push_back(flag);
    w.push_back(value);
  };
  std::vector<std::string> inputs;
  for (const auto& in : field_or<Json>(r, "inputs", Json::array(), "a list"))
    inputs.push_back(field<std::string>(in, "file", "a file name"));
  // Where the record beside the video says where they were, those paths (from any folder).
  const Json ran = field_or<Json>(r, "run", Json::object(), "an object");
  const Json where = field_or<Json>(ran, "inputs", Json::array(), "a list of paths");
  if (where.size() == inputs.size() &&
      std::all_of(where.begin(), where.end(), [](const Json& p) { return p.is_string(); }))
    for (size_t i = 0; i < inputs.size(); ++i) inputs[i] = where[i].get<std::string>();
  const auto input = [&](size_t i) {
    CUBIST_CHECK(i < inputs.size(), "the record of a generation by --", mode, " names ",
                 inputs.size(), " input files, where it needs ", i + 1);
    return inputs[i];
  };
  const std::string direction =
      field_or<std::string>(r, "direction", "forward", "forward or backward");
  if (mode == "image") add("--image", input(0));
  if (mode == "extend") {
    add("--extend", input(0));
    add("--direction", direction);
  }
  if (mode == "loop") w.push_back("--loop");
  if (mode == "connect") w.insert(w.end(), {"--connect", input(0), input(1)});
  if (mode == "edit") {
    add("--edit", input(0));
    add("--strength", number(r, "strength"));
    if (r.contains("source_prompt")) add("--source-prompt", string_field(r, "source_prompt"));
  }
  if (!field_or(r, "size_from_input", false, "true or false"))  // else the input gives it again
    add("--size", whole(r, "width") + "x" + whole(r, "height"));
  if (mode == "extend")
    add("--frames", whole(r, "new_frames"));
  else if (mode != "connect" && mode != "edit")
    add("--frames", whole(r, "frames"));
  add("--steps", whole(r, "steps"));
  add("--guidance", number(r, "guidance"));
  const std::string rule = field_or<std::string>(r, "guidance_rule", "cfg", "cfg or projected");
  if (rule != "cfg") add("--guidance-rule", rule);
  if (r.contains("negative_prompt")) add("--negative-prompt", string_field(r, "negative_prompt"));
  if (r.contains("shift")) add("--shift", number(r, "shift"));
  add("--seed", std::to_string(field<uint64_t>(r, "seed", "a whole number (the seed)")));
  add("--sampler", field_or<std::string>(r, "sampler", "heun", "heun or euler"));
  if (!field_or(r, "expand", true, "true or false")) w.push_back("--no-expand");
  if (r.contains("window")) add("--window", whole(r, "window"));
  if (r.contains("overlap")) add("--overlap", whole(r, "overlap"));
  // Seam guidance is recorded only when it pulled; where it applies, its absence was a 0.
  const bool seams = mode == "connect" || (mode == "extend" && direction == "backward");
  if (r.contains("seam_guidance"))
    add("--seam-guidance", number(r, "seam_guidance"));
  else if (seams)
    add("--seam-guidance", "0");
  std::string line;
  if (field_or(ran, "deterministic", false, "true or false"))
    line = "CUBIST_DETERMINISTIC=1";
  else if (ran.contains("threads"))
    line = "OMP_NUM_THREADS=" + whole(ran, "threads");
  for (const std::string& word : w) {
    if (!line.empty()) line += ' ';
    line += shell_word(word);
  }
  return line;
}

void check_replaces_only(const std::string& path, const std::vector<std::string>& kinds,
                         const std::string& writer, const std::string& input) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return;
  CUBIST_CHECK(input.empty() || !fs::equivalent(path, input, ec), path, ": is also the input of ",
               writer, ", which writes a new file: give another name");
  // A record's kind is known from its fields; describing it would hash the model's files.
  const std::optional<Json> record =
      fs::path(path).extension() == ".json" ? read_json_file(path) : std::nullopt;
  std::string kind = record && is_generation_record(*record) ? "provenance record" : "";
  try {
    if (kind.empty()) kind = describe_file(path)["kind"].get<std::string>();
  } catch (const std::exception&) {  // an Error, or a kind that is not a string
  }
  if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) return;
  const std::string what = kind.empty() ? "a file Cubist does not write"
                                        : (kind.find_first_of("aeiou") == 0 ? "an " : "a ") + kind;
  fail(path, ": exists and is ", what, ", which ", writer,
       " would replace; give another name, or remove it first");
}

nlohmann::ordered_json describe_file(const std::string& path, const std::string& model_dir) {
  std::error_code ec;
  CUBIST_CHECK(fs::exists(path, ec), path, ": no such file or folder");
  Json j;
  j["path"] = path;
  const std::string ext = fs::path(path).extension().string();
  Json d;
  if (fs::is_directory(path, ec)) {
    if (std::optional<Json> f = describe_folder(path)) {
      d = *f;
    } else {
      try {
        d = describe_video(path, model_dir);  // a folder of PNG frames
      } catch (const Error&) {
        fail(path, ": a folder that holds no model files (", kDiTFile, ", ", kVaeFile,
             ", checkpoint.safetensors) and no video frames");
      }
    }
  } else if (ext == ".safetensors") {
    d = describe_safetensors(path);
  } else if (ext == ".json") {
    d = describe_json(path, model_dir);
  } else if (ext == ".jsonl") {
    d = describe_manifest(path);
  } else {
    try {
      d = describe_video(path, model_dir);
    } catch (const Error& e) {
      fail(e.what(),
           "; `cubist info` describes videos and images, .safetensors weights, checkpoints and "
           "latents, tokenizer and provenance .json files, .jsonl manifests, and model or "
           "training folders");
    }
  }
  j.update(d);
  return j;
}

}  // namespace cubist
