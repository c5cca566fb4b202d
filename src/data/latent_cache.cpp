#include "data/latent_cache.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/strings.h"
#include "data/clip_cut.h"
#include "data/manifest.h"
#include "io/output_folder.h"
#include "io/text_file.h"
#include "models/vae/latent_io.h"
#include "models/vae/vae.h"

namespace cubist {

namespace fs = std::filesystem;

namespace {

// The autoencoder that is encoding the cache: its config, file, and the fingerprints of its
// encoder's weights and (for files that recorded only that) of all its weights.
struct CacheModel {
  const Vae& vae;
  std::string path, encoder, encoder_bf16, weights;
};

// Throws unless latent f (at `where`) was encoded by this autoencoder: its config, and its
// encoder's weights when the file records them, at f32 or bf16 (its export). A decoder
// fine-tuned alone passes (the latents are the same); files from before fingerprints pass on the
// config.
void check_model(const LatentFile& f, const CacheModel& model, const std::string& where) {
  CUBIST_CHECK(f.config == model.vae.config(), where,
               ": encoded by an autoencoder of another config (", f.config.to_json().dump(),
               "): cache into a new folder, or delete the old one to encode again");
  const bool encoder_known = !f.vae_encoder.empty();
  const std::string& recorded = encoder_known ? f.vae_encoder : f.vae_weights;
  const std::string& given = encoder_known ? model.encoder : model.weights;
  const bool same = encoder_known ? Vae::match(recorded, f.vae_encoder_bf16, given,
                                               model.encoder_bf16) == Vae::Match::kYes
                                  : recorded.empty() || recorded == given;
  CUBIST_CHECK(same, where, ": encoded by other ", encoder_known ? "encoder weights" : "weights",
               " of this autoencoder (fingerprint ", recorded, ", the model given has ", given,
               "): cache into a new folder, or delete the old one to encode again");
}

// Marks f as clip e's, encoded by `model`.
void stamp(LatentFile& f, const CacheModel& model, const ManifestEntry& e) {
  f.source = e.path, f.caption = e.caption, f.vae_encoder = model.encoder;
  f.vae_encoder_bf16 = model.encoder_bf16;
  if (!model.path.empty()) f.vae = fs::absolute(model.path).lexically_normal().string();
}

// Whether video e was written after `cached` (a latent file, or a video's list of clips): then
// it was replaced since it was encoded, and its latents are another video's.
bool changed_since(const ManifestEntry& e, const fs::path& cached) {
  std::error_code ec1, ec2;
  const auto video = fs::last_write_time(e.path, ec1), latents = fs::last_write_time(cached, ec2);
  return !ec1 && !ec2 && video > latents;
}

// The note for a caption that the manifest changed since f was cached.
std::string recaption_note(const std::string& was, const std::string& now) {
  return "its caption is now the manifest's " + quoted_excerpt(now, 60) + " (was " +
         quoted_excerpt(was, 60) + ")";
}

constexpr const char* kChangedNote = "encoded again: the video changed since it was cached";

// The cached latent of clip e at `path`, encoding it when it is not there yet or the video changed
// since; a caption the manifest changed since is taken (the latents stay). `note` says which.
LatentFile cached_latent(const CacheModel& model, const ManifestEntry& e, const std::string& path,
                         bool pad, std::string& note) {
  const bool there = fs::exists(path);
  if (there && !changed_since(e, path)) {
    LatentFile f = load_latent(path);
    check_model(f, model, path);
    CUBIST_CHECK(f.source == e.path, path, ": a cached latent of another clip (", f.source,
                 ", where the manifest has ", e.path, "); delete it to encode again");
    if (f.caption != e.caption) {
      note = recaption_note(f.caption, e.caption);
      f.caption = e.caption;
      save_latent(path, f);
    }
    return f;
  }
  if (there) note = kChangedNote;
  EncodeOptions o;
  o.pad = pad;
  LatentFile f = encode_video_file(model.vae, e.path, o);  // a chunk at a time
  stamp(f, model, e);
  save_latent(path, f);
  return f;
}

// Its line in latents.jsonl, for the latent file `name` (relative to the cache folder).
nlohmann::ordered_json manifest_line(const std::string& name, const LatentFile& f, bool cut) {
  nlohmann::ordered_json j;
  j["latent"] = name;
  j["path"] = f.source;
  if (cut) j["start_frame"] = f.start_frame;
  j["caption"] = f.caption;
  j["frames"] = f.frames;
  j["width"] = f.width;
  j["height"] = f.height;
  j["fps"] = f.fps;
  j["latent_shape"] = f.latent.shape().vec();
  return j;
}

std::string line_name(size_t line) {
  char name[32];
  std::snprintf(name, sizeof name, "%06zu", line);
  return name;
}

struct Stopped {};  // thrown between two clips of a video when the cache is asked to stop

// The latents.jsonl lines of the clips that `cut` makes of video e (manifest line `line`),
// encoded into DIR/latents/LINE_CLIP.safetensors unless DIR/latents/LINE.json lists them all
// already: it is written once the video's last clip is, so an interrupted video is encoded again
// from its start. on_frames(n) after each clip: the video's first n frames are done.
std::vector<nlohmann::ordered_json> cached_clips(const CacheModel& model, const ManifestEntry& e,
                                                 size_t line, const std::string& dir,
                                                 const ClipCut& cut, const std::atomic<bool>* stop,
                                                 const std::function<void(int64_t)>& on_frames,
                                                 std::string& note) {
  const fs::path index = fs::path(dir) / "latents" / (line_name(line) + ".json");
  std::vector<nlohmann::ordered_json> lines;
  if (fs::exists(index) && changed_since(e, index)) {
    note = kChangedNote;
  } else if (fs::exists(index)) {
    std::ifstream in(index);
    nlohmann::ordered_json listed = nlohmann::ordered_json::parse(in, nullptr, false);
    bool whole = listed.is_array() && !listed.empty();
    for (size_t k = 0; whole && k < listed.size(); ++k)
      whole = listed[k].is_object() && listed[k].value("path", "") == e.path &&
              fs::exists(fs::path(dir) / listed[k].value("latent", ""));
    if (whole && listed[0].value("caption", "") != e.caption) {
      // A caption the manifest changed since: the clips' latents stay, their caption is new.
      note = recaption_note(listed[0].value("caption", ""), e.caption);
      for (auto& j : listed) {
        j["caption"] = e.caption;
        const std::string file = (fs::path(dir) / j["latent"].get<std::string>()).string();
        LatentFile f = load_latent(file);
        f.caption = e.caption;
        save_latent(file, f);
      }
      write_text_file(index.string(), listed.dump() + "\n");
    }
    if (whole) return std::vector<nlohmann::ordered_json>(listed.begin(), listed.end());
  }
  for_each_clip(e.path, cut, model.vae.config(), [&](const Video& clip, int64_t first) {
    if (stop && stop->load()) throw Stopped{};  // a long video's clips can take a while
    const std::string name =
        "latents/" + line_name(line) + "_" + std::to_string(lines.size()) + ".safetensors";
    LatentFile f = encode_latent(model.vae, clip,
                                 e.path + " (its frames from " + std::to_string(first) + " on)");
    stamp(f, model, e);
    f.start_frame = first;
    save_latent((fs::path(dir) / name).string(), f);
    lines.push_back(manifest_line(name, f, true));
    on_frames(first + clip.frames);
  });
  write_text_file(index.string(), nlohmann::ordered_json(lines).dump() + "\n");
  return lines;
}

// The cut a cache folder was made with, as DIR/cut.json records it; a folder written before
// cuts, or by a cache that did not cut, holds whole videos.
ClipCut folder_cut(const std::string& out_dir) {
  const fs::path file = fs::path(out_dir) / "cut.json";
  ClipCut c;
  if (!fs::exists(file)) return c;
  std::ifstream in(file);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  const auto holds = [&](const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_number() && j[key].get<double>() >= 0;
  };
  CUBIST_CHECK(holds("clip_frames") && holds("max_side") && holds("fps"), file.string(),
               ": not a cache's record of its cut (",
               "{\"clip_frames\": N, \"max_side\": PX, \"fps\": F}); delete the folder to encode "
               "again");
  c.clip_frames = j["clip_frames"].get<int64_t>();
  c.max_side = j["max_side"].get<int64_t>();
  c.fps = j["fps"].get<double>();
  return c;
}

// Refuses a folder of latents cut otherwise than `cut` asks (clips of them would mix), and
// records the cut of a new one.
void check_cut(const std::string& out_dir, const ClipCut& cut, bool has_latents) {
  const ClipCut was = folder_cut(out_dir);
  CUBIST_CHECK(!has_latents || was == cut, out_dir, " holds latents of ", was.str(),
               ", where this cache asks for ", cut.str(),
               ": cache into a new folder, or delete that one to encode again");
  if (has_latents && fs::exists(fs::path(out_dir) / "cut.json")) return;
  if (!cut.cuts()) return;
  write_text_file((fs::path(out_dir) / "cut.json").string(), cut.to_json().dump() + "\n");
}

// A folder that holds latents of another model, other weights or another manifest is refused as
// a whole, before anything is encoded or its latents.jsonl rewritten (rather than clip by clip):
// the first latent file found decides. Whether the folder holds latents at all.
bool check_folder(const std::string& out_dir, const CacheModel& model, const std::string& manifest,
                  const std::vector<ManifestEntry>& entries) {
  const fs::path dir = fs::path(out_dir) / "latents";
  for (const auto& file : fs::directory_iterator(dir)) {
    if (file.path().extension() != ".safetensors") continue;
    const LatentFile f = load_latent(file.path().string());
    check_model(f, model, file.path().string());
    const std::string stem = file.path().stem().string();
    size_t number = 0;
    const auto [end, ec] = std::from_chars(stem.data(), stem.data() + stem.size(), number);
    // A name that is not a line number ("7.safetensors" is line 8, "7_2.safetensors" a clip
    // of it) matches no line.
    const bool numbered = ec == std::errc() && (end == stem.data() + stem.size() || *end == '_');
    const size_t line = numbered ? number : entries.size();
    // The same manifest indexed again with videos added: its lines moved under the numbers.
    const auto now = std::find_if(entries.begin(), entries.end(),
                                  [&](const ManifestEntry& e) { return e.path == f.source; });
    const bool in_place = line < entries.size() && entries[line].path == f.source;
    CUBIST_CHECK(in_place || !numbered || now == entries.end(), out_dir,
                 " was cached from another order of ", manifest, "'s videos (", f.source,
                 " is its line ", now - entries.begin() + 1, ", and was line ", line + 1,
                 " when cached: videos were added or the manifest was indexed again); latent "
                 "files are numbered by manifest line, so cache into a new folder, or delete "
                 "that one to encode again");
    CUBIST_CHECK(in_place, out_dir, " holds the latents of another manifest (",
                 file.path().filename().string(), " is ", f.source, ", where line ", line + 1,
                 " of ", manifest, " is ",
                 line < entries.size() ? entries[line].path : std::string("missing"),
                 "): cache into a new folder, or delete that one to encode again");
    return true;
  }
  return false;
}

// The frames of every video as the manifest lists them; 0 when an entry does not say.
int64_t listed_frames_total(const std::vector<ManifestEntry>& entries, const ClipCut& cut) {
  int64_t total = 0;
  for (const ManifestEntry& e : entries) {
    const int64_t n = listed_frames(e, cut);
    if (n <= 0) return 0;
    total += n;
  }
  return total;
}

}  // namespace

CacheResult cache_latents(const Vae& vae, const std::string& vae_path, const std::string& manifest,
                          const std::string& out_dir, const CacheOptions& o,
                          const std::function<void(const CacheProgress&)>& on_clip,
                          const std::atomic<bool>* stop) {
  o.cut.check(vae.config(), "vae cache");
  CUBIST_CHECK(!(o.pad && o.cut.cuts()), "vae cache: padding applies to whole videos; a cut ",
               "crops frames to multiples of ", vae.config().spatial_factor,
               " and ends a clip at a frame count the autoencoder takes instead");
  const std::vector<ManifestEntry> entries = read_manifest(manifest);
  CUBIST_CHECK(!entries.empty(), "vae cache: ", manifest,
               " lists no videos; index a folder of videos first (cubist data index DIR)");
  make_output_folder((fs::path(out_dir) / "latents").string());
  const CacheModel model{vae, vae_path, vae.encoder_fingerprint(),
                         vae.encoder_fingerprint_at_bf16(), vae.fingerprint()};
  const bool has_latents = check_folder(out_dir, model, manifest, entries);
  check_cut(out_dir, o.cut, has_latents);
  CacheResult r;
  r.total = static_cast<int64_t>(entries.size());
  std::vector<nlohmann::ordered_json> lines;
  CacheProgress p;
  p.total = r.total;
  p.frames_total = listed_frames_total(entries, o.cut);
  if (on_clip) on_clip(p);
  for (size_t i = 0; i < entries.size(); ++i) {
    const ManifestEntry& e = entries[i];
    const int64_t frames_before = p.frames;
    p.path = e.path, p.handled = false, p.error.clear(), p.note.clear();
    try {
      if (o.cut.cuts()) {
        const auto on_frames = [&](int64_t read) {
          p.frames = frames_before + read;
          if (on_clip) on_clip(p);
        };
        for (auto& j : cached_clips(model, e, i, out_dir, o.cut, stop, on_frames, p.note))
          lines.push_back(std::move(j));
      } else {
        const std::string name = "latents/" + line_name(i) + ".safetensors";
        const LatentFile f =
            cached_latent(model, e, (fs::path(out_dir) / name).string(), o.pad, p.note);
        lines.push_back(manifest_line(name, f, false));
      }
      ++r.cached;
    } catch (const Error& err) {
      ++r.failed;
      p.error = err.what();
      // Readers name the file first; `path` says which it is.
      if (p.error.rfind(e.path + ": ", 0) == 0) p.error.erase(0, e.path.size() + 2);
    } catch (const Stopped&) {
      r.stopped = true;
      break;
    }
    p.done = static_cast<int64_t>(i + 1), p.handled = true;
    p.frames = frames_before + listed_frames(e, o.cut);
    if (on_clip) on_clip(p);
    if (stop && stop->load()) {
      r.stopped = i + 1 < entries.size();
      break;
    }
  }
  r.clips = static_cast<int64_t>(lines.size());
  r.manifest = (fs::path(out_dir) / "latents.jsonl").string();
  std::string text;
  for (const auto& j : lines) text += j.dump() + "\n";
  write_text_file(r.manifest, text);
  return r;
}

bool lists_videos(const std::string& manifest) {
  std::ifstream in(manifest);
  CUBIST_CHECK(in.good(), manifest, ": cannot open the manifest");
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    return j.is_object() && j.contains("path") && !j.contains("latent");
  }
  return false;
}

std::string encoder_of(const std::string& latent) {
  try {
    const LatentFile f = load_latent(latent);
    if (f.vae.empty() || f.vae_encoder.empty() || !fs::exists(f.vae)) return "";
    return load_vae(f.vae)->encoder_fingerprint() == f.vae_encoder ? f.vae : "";
  } catch (const Error&) {
    return "";
  }
}

ClipCut cut_of_cache(const std::string& latent_manifest) {
  return folder_cut(fs::absolute(latent_manifest).parent_path().string());
}

std::vector<LatentEntry> read_latent_manifest(const std::string& path) {
  std::ifstream in(path);
  CUBIST_CHECK(in.good(), path,
               ": cannot open the latent manifest (`cubist vae cache` writes one: "
               "DIR/latents.jsonl)");
  const fs::path base = fs::absolute(fs::path(path)).parent_path();
  std::vector<LatentEntry> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      LatentEntry e;
      const fs::path latent(j.at("latent").get<std::string>());
      e.latent = (latent.is_absolute() ? latent : base / latent).lexically_normal().string();
      e.caption = j.value("caption", "");
      e.shape = Dims(j.at("latent_shape").get<std::vector<int64_t>>());
      out.push_back(std::move(e));
    } catch (const nlohmann::json::exception& e) {
      fail(path, ":", n,
           ": not a latent manifest line (needs \"latent\" and \"latent_shape\"): ", e.what());
    }
  }
  return out;
}

LatentStats latent_statistics(const std::vector<LatentEntry>& entries, int64_t max_clips) {
  CUBIST_CHECK(!entries.empty() && max_clips >= 1, "latent statistics: no latents to measure");
  const int64_t n = static_cast<int64_t>(entries.size()), take = std::min(n, max_clips);
  std::vector<double> sum, sq;
  double count = 0;
  for (int64_t k = 0; k < take; ++k) {
    const LatentEntry& e = entries[static_cast<size_t>(k * n / take)];
    const Tensor z = load_latent(e.latent).latent.contiguous();
    const int64_t C = z.size(0), per = z.numel() / C;
    if (sum.empty())
      sum.assign(static_cast<size_t>(C), 0.0), sq.assign(static_cast<size_t>(C), 0.0);
    CUBIST_CHECK(static_cast<int64_t>(sum.size()) == C, e.latent, ": ", C,
                 " latent channels where the other clips have ", sum.size());
    const float* p = z.data<float>();
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < per; ++i) {
        const double v = p[c * per + i];
        sum[static_cast<size_t>(c)] += v;
        sq[static_cast<size_t>(c)] += v * v;
      }
    count += static_cast<double>(per);
  }
  LatentStats s;
  s.clips = take;
  for (size_t c = 0; c < sum.size(); ++c) {
    const double m = sum[c] / count;
    s.mean.push_back(static_cast<float>(m));
    s.std.push_back(static_cast<float>(std::sqrt(std::max(sq[c] / count - m * m, 1e-12))));
  }
  return s;
}

}  // namespace cubist
