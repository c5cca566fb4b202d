#include "data/clip_cut.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "data/manifest.h"
#include "models/vae/config.h"

namespace cubist {

void ClipCut::check(const VaeConfig& c, const std::string& what) const {
  const int64_t tf = c.temporal_factor(), sf = c.spatial_factor;
  CUBIST_CHECK(clip_frames == 0 || (clip_frames >= 1 && (clip_frames - 1) % tf == 0), what,
               ": clip_frames must be 0 (whole videos) or 1 + ", tf, "k frames (1, ", 1 + tf, ", ",
               1 + 2 * tf, ", ", 1 + 4 * tf, ", ...) for this autoencoder, got ", clip_frames);
  CUBIST_CHECK(max_side == 0 || max_side >= sf, what,
               ": max_side must be 0 (the native size) or at least the autoencoder's spatial "
               "factor ",
               sf, " pixels, got ", max_side);
  CUBIST_CHECK(std::isfinite(fps) && fps >= 0, what,
               ": fps must be 0 (the native rate) or a rate above 0, got ", fps);
}

nlohmann::ordered_json ClipCut::to_json() const {
  nlohmann::ordered_json j;
  j["clip_frames"] = clip_frames;
  j["max_side"] = max_side;
  j["fps"] = fps;
  return j;
}

std::string ClipCut::str() const {
  if (!cuts()) return "whole videos at their native size and rate";
  const std::string clips = clip_frames > 0
                                ? "clips of at most " + std::to_string(clip_frames) + " frames"
                                : std::string("whole videos");
  const std::string read = reading();
  return read.empty() ? clips : clips + ", " + read;
}

std::string ClipCut::reading() const {
  std::ostringstream os;
  if (max_side > 0) os << "the longer side at most " << max_side << " px";
  if (fps > 0) os << (max_side > 0 ? ", " : "") << "at " << fps << " fps";
  return os.str();
}

CutSize cut_size(const ClipCut& cut, int64_t spatial_factor, int64_t h, int64_t w,
                 const std::string& what) {
  CutSize s;
  int64_t rh = h, rw = w;
  if (cut.max_side > 0 && std::max(h, w) > cut.max_side) {
    const double scale = static_cast<double>(cut.max_side) / static_cast<double>(std::max(h, w));
    rh = std::max<int64_t>(1, std::llround(static_cast<double>(h) * scale));
    rw = std::max<int64_t>(1, std::llround(static_cast<double>(w) * scale));
    s.read_height = rh, s.read_width = rw;
  }
  s.height = rh / spatial_factor * spatial_factor;
  s.width = rw / spatial_factor * spatial_factor;
  CUBIST_CHECK(s.height > 0 && s.width > 0, what, ": frames of ", w, "x", h, " read at ", rw, "x",
               rh, " hold no ", spatial_factor, "x", spatial_factor,
               " block for the autoencoder; a larger max_side keeps more of them");
  return s;
}

int64_t frames_at_rate(int64_t frames, double duration, const ClipCut& cut) {
  if (cut.fps <= 0) return std::max<int64_t>(frames, 0);
  return duration > 0 ? static_cast<int64_t>(std::floor(duration * cut.fps + 1e-6)) : 0;
}

int64_t listed_frames(const ManifestEntry& e, const ClipCut& cut) {
  return frames_at_rate(e.frames, e.duration, cut);
}

namespace {

// The centred h x w of every frame of v (its sides at least h and w).
Video centre_crop(const Video& v, int64_t h, int64_t w) {
  if (h == v.height && w == v.width) return v;
  const int64_t y0 = (v.height - h) / 2, x0 = (v.width - w) / 2;
  Video out(v.frames, h, w, v.fps);
  for (int64_t t = 0; t < v.frames; ++t)
    for (int64_t y = 0; y < h; ++y)
      std::memcpy(out.pixel(t, y, 0), v.pixel(t, y0 + y, x0), static_cast<size_t>(w * 3));
  return out;
}

// The first `frames` frames of v.
Video first_frames(Video v, int64_t frames) {
  v.frames = frames;
  v.rgb.resize(static_cast<size_t>(frames * v.height * v.width * 3));
  return v;
}

}  // namespace

void for_each_clip(const std::string& path, const ClipCut& cut, const VaeConfig& c,
                   const std::function<void(const Video& clip, int64_t first)>& on_clip) {
  cut.check(c, path);
  const VideoInfo info = probe_video(path);
  const CutSize size = cut_size(cut, c.spatial_factor, info.height, info.width, path);
  VideoReadOptions o;
  o.fps = cut.fps;
  o.height = size.read_height, o.width = size.read_width;
  VideoReader reader(path, o);
  const int64_t tf = c.temporal_factor();
  const int64_t want = cut.clip_frames > 0 ? cut.clip_frames : std::numeric_limits<int64_t>::max();
  int64_t first = 0, clips = 0;
  for (Video v = reader.read(want); v.frames > 0; v = reader.read(want)) {
    const int64_t kept = 1 + (v.frames - 1) / tf * tf;  // what the autoencoder takes of them
    on_clip(centre_crop(first_frames(std::move(v), kept), size.height, size.width), first);
    first += want == std::numeric_limits<int64_t>::max() ? kept : want;
    ++clips;
  }
  CUBIST_CHECK(clips > 0, path, ": no frame to encode");
}

}  // namespace cubist
