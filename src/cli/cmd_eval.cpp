// `cubist eval`: checks videos against Shapes World captions with the checker and prints JSON.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "core/error.h"
#include "data/shapes_checker.h"
#include "io/video.h"

namespace {

constexpr const char* kUsage =
    "usage: cubist eval --video V --caption \"a small red circle bouncing on a navy background\"\n"
    "                   [--tracks]\n"
    "       cubist eval --manifest M [--quiet] [--tracks]\n"
    "Checks each video against its canonical Shapes World caption attribute by attribute\n"
    "(background; colour, shape, size, motion of every object; no extra objects) and prints\n"
    "JSON: one object per clip, and for a manifest a final {\"summary\": ...} with the share of\n"
    "clips fully right, the accuracy per attribute and, by the caption's number of objects,\n"
    "the clips fully right and the objects missing (not seen on 90% of the frames).\n"
    "--quiet prints only the summary.\n"
    "--tracks adds where each object was seen: per caption object, the frames that show it and\n"
    "its centroid (x right, y down, pixels) and area on each.\n";

int eval_one(const std::string& path, const std::string& caption, bool tracks) {
  cubist::Video v;
  try {
    v = cubist::read_video(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cubist eval: %s\n", e.what());
    return 1;
  }
  try {
    nlohmann::ordered_json j =
        cubist::shapes::to_json(cubist::shapes::check_video(v, caption), tracks);
    std::printf("%s\n", j.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cubist eval: %s\n", e.what());
    return 2;
  }
  return 0;
}

int eval_manifest(const std::string& manifest, bool quiet, bool tracks) {
  std::ifstream in(manifest);
  if (!in) {
    std::fprintf(stderr, "cubist eval: cannot open manifest %s\n", manifest.c_str());
    return 1;
  }
  const std::filesystem::path base = std::filesystem::path(manifest).parent_path();
  cubist::shapes::ScoreSummary summary;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const auto is_entry = [](const std::string& l) {
    return l.find_first_not_of(" \t\r") != std::string::npos;
  };
  if (std::none_of(lines.begin(), lines.end(), is_entry))
    throw cubist::Error(manifest +
                        " lists no clips; give a manifest of one JSON object a line "
                        "with \"path\" and \"caption\" (cubist data shapes writes one)");
  // With --quiet nothing else shows how far it is; otherwise each clip's line does.
  std::unique_ptr<cubist::cli::Progress> bar;
  if (quiet)
    bar = std::make_unique<cubist::cli::Progress>(
        "eval", std::count_if(lines.begin(), lines.end(), is_entry), "clip");
  int64_t line_no = 0, judged = 0;
  for (const std::string& line : lines) {
    ++line_no;
    if (!is_entry(line)) continue;
    std::string path;
    try {
      const nlohmann::json entry = nlohmann::json::parse(line);
      CUBIST_CHECK(entry.contains("path") && entry["path"].is_string(),
                   "the entry has no \"path\" string");
      path = entry["path"].get<std::string>();
      CUBIST_CHECK(entry.contains("caption") && entry["caption"].is_string(),
                   "the entry has no \"caption\" string");
      const std::filesystem::path full =
          std::filesystem::path(path).is_absolute() ? std::filesystem::path(path) : base / path;
      const cubist::shapes::ClipCheck c = cubist::shapes::check_video(
          cubist::read_video(full.string()), entry["caption"].get<std::string>());
      summary.add(c);
      if (!quiet) {
        nlohmann::ordered_json j;
        j["path"] = path;
        const nlohmann::ordered_json result = cubist::shapes::to_json(c, tracks);
        for (const auto& [k, val] : result.items()) j[k] = val;
        std::printf("%s\n", j.dump().c_str());
      }
    } catch (const std::exception& e) {
      ++summary.errors;
      nlohmann::ordered_json j;
      j["path"] = path;
      j["line"] = line_no;
      j["error"] = e.what();
      if (!quiet) std::printf("%s\n", j.dump().c_str());
      std::fprintf(stderr, "cubist eval: %s line %lld: %s\n", manifest.c_str(),
                   static_cast<long long>(line_no), e.what());
    }
    if (bar) bar->update(++judged);
  }
  if (bar) bar->finish();
  nlohmann::ordered_json s;
  s["summary"] = cubist::shapes::to_json(summary);
  std::printf("%s\n", s.dump().c_str());
  return summary.errors ? 1 : 0;
}

}  // namespace

namespace cubist::cli {

int cmd_eval(int argc, char** argv) {
  Args args(argc, argv);
  if (args.flag("--help") || args.flag("-h")) {
    std::printf("%s", kUsage);
    return 0;
  }
  const std::string video = args.str("--video", ""), caption = args.str("--caption", "");
  const std::string manifest = args.str("--manifest", "");
  const bool quiet = args.flag("--quiet"), tracks = args.flag("--tracks");
  args.finish();
  if (!manifest.empty() && video.empty() && caption.empty())
    return eval_manifest(manifest, quiet, tracks);
  if (manifest.empty() && !video.empty() && !caption.empty())
    return eval_one(video, caption, tracks);
  throw UsageError("give either --video and --caption, or --manifest");
}

}  // namespace cubist::cli
