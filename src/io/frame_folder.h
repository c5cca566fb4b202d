// Folders of PNG frames: listing the frames in order, and the video.json beside them that keeps
// what PNG files cannot (frame rate, metadata). Internal to src/io.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace cubist::frame_folder {

// The .png files directly in `dir`, in frame order: names compared as numbers when both stems
// are all digits (so 2.png comes before 10.png), otherwise as strings.
std::vector<std::string> list_png(const std::string& dir);

// Whether `name` is a frame as write_video names them: digits, then ".png" (000000.png). Only a
// folder of such frames and video.json is taken for an earlier output that may be replaced.
bool is_frame_name(const std::string& name);

struct Meta {
  double fps = 0.0;  // 0 when the folder says nothing
  std::map<std::string, std::string> metadata;
};
constexpr const char* kMetaName = "video.json";

// Reads dir/video.json when present (an Error if it is there but malformed).
Meta read_meta(const std::string& dir);
void write_meta(const std::string& dir, const Meta& meta);

}  // namespace cubist::frame_folder
