// Folders of PNG frames: order of the frames and the video.json sidecar (see frame_folder.h).
#include "io/frame_folder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/ffmpeg_util.h"

namespace cubist::frame_folder {

namespace fs = std::filesystem;

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Numeric stems by value (leading zeros ignored), then everything else by name.
bool frame_before(const fs::path& a, const fs::path& b) {
  const std::string sa = a.stem().string(), sb = b.stem().string();
  if (all_digits(sa) && all_digits(sb)) {
    const auto strip = [](const std::string& s) {
      const size_t i = s.find_first_not_of('0');
      return i == std::string::npos ? std::string() : s.substr(i);
    };
    const std::string na = strip(sa), nb = strip(sb);
    if (na.size() != nb.size()) return na.size() < nb.size();
    if (na != nb) return na < nb;
  }
  return a.filename().string() < b.filename().string();
}

}  // namespace

bool is_frame_name(const std::string& name) {
  const fs::path p(name);
  return p.extension() == ".png" && all_digits(p.stem().string());
}

std::vector<std::string> list_png(const std::string& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec)) continue;
    if (ffmpeg::extension(e.path().string()) == ".png") files.push_back(e.path());
  }
  if (ec) fail(dir, ": cannot list the folder: ", ec.message());
  std::sort(files.begin(), files.end(), frame_before);
  std::vector<std::string> out;
  out.reserve(files.size());
  for (const auto& f : files) out.push_back(f.string());
  return out;
}

Meta read_meta(const std::string& dir) {
  Meta m;
  const fs::path p = fs::path(dir) / kMetaName;
  std::ifstream in(p);
  if (!in) return m;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    if (j.contains("fps")) m.fps = j.at("fps").get<double>();
    if (j.contains("metadata"))
      m.metadata = j.at("metadata").get<std::map<std::string, std::string>>();
  } catch (const nlohmann::json::exception& e) {
    fail(p.string(),
         ": malformed (expected {\"fps\": number, \"metadata\": {string: string}}): ", e.what());
  }
  CUBIST_CHECK(m.fps >= 0 && std::isfinite(m.fps), p.string(), ": fps must be >= 0, got ", m.fps);
  return m;
}

void write_meta(const std::string& dir, const Meta& meta) {
  nlohmann::json j;
  j["fps"] = meta.fps;
  j["metadata"] = meta.metadata;
  const fs::path p = fs::path(dir) / kMetaName;
  std::ofstream out(p);
  out << j.dump(2) << "\n";
  out.close();
  CUBIST_CHECK(out, p.string(), ": cannot write");
}

}  // namespace cubist::frame_folder
