// Manifests (JSONL) of videos with captions, and indexing a folder of videos into one.
#include "data/manifest.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"
#include "io/json_field.h"
#include "io/text_file.h"
#include "io/video.h"

namespace cubist {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

fs::path folder_of(const std::string& file) {
  return fs::absolute(fs::path(file)).parent_path().lexically_normal();
}

std::string resolve(const fs::path& base, const std::string& p) {
  const fs::path q(p);
  return (q.is_absolute() ? q : base / q).lexically_normal().string();
}

// A name for matching caption paths with found videos: absolute, normalised, without a
// trailing slash, symbolic links resolved where they exist.
std::string match_key(const std::string& p) {
  std::error_code ec;
  fs::path q = fs::weakly_canonical(fs::absolute(fs::path(p)), ec);
  if (ec) q = fs::absolute(fs::path(p)).lexically_normal();
  std::string s = q.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// A manifest line's entry; what is wrong with it (a missing path, a field of the wrong type,
// 2.5 frames) goes to `problems`.
ManifestEntry entry_from_json(const json& j, std::vector<std::string>& problems) {
  ManifestEntry e;
  if (!j.is_object()) {
    problems.push_back("not a JSON object");
    return e;
  }
  if (!j.contains("path")) problems.push_back("no \"path\"");
  read_json_field(j, "path", e.path, problems);
  read_json_field(j, "caption", e.caption, problems);
  read_json_field(j, "prompt", e.prompt, problems);
  read_json_field(j, "description", e.description, problems);
  read_json_field(j, "frames", e.frames, problems);
  read_json_field(j, "fps", e.fps, problems);
  read_json_field(j, "width", e.width, problems);
  read_json_field(j, "height", e.height, problems);
  read_json_field(j, "duration", e.duration, problems);
  return e;
}

// Videos, and images: a still image trains as a 1-frame video.
bool is_video_file(const fs::path& p) {
  static const char* const kExt[] = {".mp4", ".webm", ".mkv", ".mov", ".avi", ".gif"};
  const std::string e = ascii_lower(p.extension().string());
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* x) { return e == x; }) ||
         is_image_path(p.string());
}

// Splits CSV text into rows of fields (RFC 4180: "..." quotes, "" inside them is a quote).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"', ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true, any = true;
    } else if (c == ',') {
      rows.back().push_back(field), field.clear(), any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) rows.back().push_back(field);
      field.clear(), any = false;
      if (!rows.back().empty()) rows.emplace_back();
    } else {
      field += c, any = true;
    }
  }
  if (any || !field.empty()) rows.back().push_back(field);
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

struct Caption {
  std::string text, where;  // where: "FILE:LINE", for problems
};

std::map<std::string, Caption> read_captions(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, ": cannot open the captions file");
  const fs::path base = folder_of(file);
  std::map<std::string, Caption> out;
  const std::string ext = ascii_lower(fs::path(file).extension().string());
  if (ext == ".jsonl") {
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (n == 1) line = without_bom(std::move(line));
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = file + ":" + std::to_string(n);
      try {
        const json j = json::parse(line);
        const std::string p = j.at("path").get<std::string>();
        out[match_key(resolve(base, p))] = {j.at("caption").get<std::string>(), where};
      } catch (const json::exception& e) {
        fail(where, ": expected {\"path\": string, \"caption\": string}: ", e.what());
      }
    }
    return out;
  }
  if (ext != ".csv")
    fail(file,
         ": captions must be .jsonl ({\"path\", \"caption\"} per line) or .csv (header "
         "path,caption); got '",
         ext, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const auto rows = parse_csv(without_bom(ss.str()));
  if (rows.empty()) return out;
  int pc = -1, cc = -1;
  for (size_t i = 0; i < rows[0].size(); ++i) {
    std::string h = rows[0][i];
    h.erase(std::remove_if(h.begin(), h.end(), [](unsigned char c) { return std::isspace(c); }),
            h.end());
    h = ascii_lower(std::move(h));
    if (h == "path") pc = int(i);
    if (h == "caption") cc = int(i);
  }
  if (pc < 0 || cc < 0) fail(file, ": the first line must be the header path,caption");
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::string where = file + ": row " + std::to_string(r + 1);
    if (rows[r].size() <= size_t(std::max(pc, cc)))
      fail(where, ": has ", rows[r].size(), " fields; expected path and caption");
    out[match_key(resolve(base, rows[r][pc]))] = {rows[r][cc], where};
  }
  return out;
}

// The caption in the text file beside a video or image: a.mp4's a.txt, a frame folder's
// folder.txt; its whitespace runs (line breaks among them) become single spaces.
std::optional<std::string> sidecar_caption(const std::string& media) {
  fs::path txt(media);
  if (!txt.has_filename()) txt = txt.parent_path();  // "frames/"
  txt = fs::is_directory(txt) ? fs::path(txt.string() + ".txt") : txt.replace_extension(".txt");
  std::ifstream in(txt, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  std::istringstream words(without_bom(text.str()));
  std::string caption, word;
  while (words >> word) caption += (caption.empty() ? "" : " ") + word;
  return caption;
}

// Video files and PNG-frame folders under dir, sorted.
std::vector<std::string> find_videos(const std::string& dir, std::vector<std::string>* problems) {
  std::vector<std::string> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) fail(dir, ": cannot list the folder: ", ec.message());
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) {
      problems->push_back(it->path().string() + ": cannot list: " + ec.message());
      ec.clear();
      continue;
    }
    const fs::path& p = it->path();
    std::error_code ec2;
    if (it->is_directory(ec2)) {
      if (is_png_frame_folder(p.string())) {
        found.push_back(p.lexically_normal().string());
        it.disable_recursion_pending();
      }
    } else if (it->is_regular_file(ec2) && is_video_file(p)) {
      found.push_back(p.lexically_normal().string());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

std::vector<ManifestEntry> read_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, ": cannot open the manifest");
  const fs::path base = folder_of(path);
  std::vector<ManifestEntry> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    constexpr const char* kLine =
        "a manifest line is a JSON object with a string \"path\"; caption: a string; frames, "
        "width, height: whole numbers; fps, duration: numbers";
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      fail(path, ":", n, ": not JSON (", e.what(), "); ", kLine);
    }
    std::vector<std::string> problems;
    ManifestEntry e = entry_from_json(j, problems);
    if (!problems.empty()) fail(path, ":", n, ": ", join(problems, "; "), " (", kLine, ")");
    e.path = resolve(base, e.path);
    out.push_back(std::move(e));
  }
  return out;
}

void write_manifest(const std::string& path, const std::vector<ManifestEntry>& entries) {
  const fs::path base = folder_of(path);
  std::string text;
  for (const ManifestEntry& e : entries) {
    const fs::path abs = fs::absolute(fs::path(e.path)).lexically_normal();
    const fs::path rel = abs.lexically_relative(base);
    const bool inside = !rel.empty() && *rel.begin() != "..";
    json j;
    j["path"] = inside ? rel.string() : abs.string();
    j["caption"] = e.caption;
    if (!e.prompt.empty()) j["prompt"] = e.prompt;
    if (!e.description.empty()) j["description"] = e.description;
    j["frames"] = e.frames;
    j["fps"] = e.fps;
    j["width"] = e.width;
    j["height"] = e.height;
    j["duration"] = e.duration;
    text += j.dump() + "\n";
  }
  write_text_file(path, text);
}

IndexResult index_videos(const std::string& dir, const std::string& captions_file,
                         const std::function<void(int64_t done, int64_t total)>& on_probe) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(dir, ": not a folder");
  IndexResult res;
  std::map<std::string, Caption> captions;
  if (!captions_file.empty()) captions = read_captions(captions_file);
  std::map<std::string, bool> used;
  const std::vector<std::string> found = find_videos(dir, &res.problems);
  const auto total = static_cast<int64_t>(found.size());
  if (on_probe) on_probe(0, total);
  int64_t done = 0;
  for (const std::string& p : found) {
    try {
      const VideoInfo info = probe_video(p);
      ManifestEntry e{p, "", info.frames, info.fps, info.width, info.height, info.duration};
      const auto c = captions.find(match_key(p));
      if (c != captions.end()) {
        e.caption = c->second.text, used[c->first] = true;
      } else if (std::optional<std::string> beside = sidecar_caption(p)) {
        e.caption = std::move(*beside);
        ++res.sidecar_captions;
      }
      res.entries.push_back(std::move(e));
    } catch (const std::exception& e) {
      res.problems.push_back(e.what());
      const auto c = captions.find(match_key(p));
      if (c != captions.end()) used[c->first] = true;  // its video was found, only unreadable
    }
    if (on_probe) on_probe(++done, total);
  }
  for (const auto& [key, c] : captions)
    if (!used.count(key))
      res.problems.push_back(c.where + ": caption for " + key +
                             ", which is not a video found under " + dir);
  return res;
}

CaptionsKept keep_captions(std::vector<ManifestEntry>& entries,
                           const std::vector<ManifestEntry>& previous) {
  std::map<std::string, const ManifestEntry*> by_video;
  for (const ManifestEntry& p : previous)
    if (!p.caption.empty()) by_video[match_key(p.path)] = &p;
  CaptionsKept out;
  for (ManifestEntry& e : entries) {
    const auto p = by_video.find(match_key(e.path));
    if (p == by_video.end()) continue;
    const ManifestEntry& old = *p->second;
    if (e.caption.empty()) {
      e.caption = old.caption;
      e.prompt = old.prompt;
      e.description = old.description;
      ++out.kept;
    } else if (e.caption != old.caption) {
      out.replaced.push_back(e.path + ": \"" + old.caption + "\" -> \"" + e.caption + "\"");
    }
  }
  std::set<std::string> found;
  for (const ManifestEntry& e : entries) found.insert(match_key(e.path));
  for (const ManifestEntry& p : previous)
    if (!found.count(match_key(p.path)))
      out.dropped.push_back(p.path + (p.caption.empty() ? "" : " (\"" + p.caption + "\")"));
  return out;
}

}  // namespace cubist
