// Shapes World checker: decides, attribute by attribute, whether a video shows what a canonical
// caption says (background; each object's colour, shape, size and motion; no extra objects).
// Works on clean renders, on decoded MP4 (lossy) and on generated videos: colours are classified
// to the nearest palette entry within a tolerance, thin fringes and small specks are ignored, and
// every threshold is in CheckerOptions and documented in docs/SHAPES_WORLD.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/shapes_world.h"
#include "io/video.h"

namespace cubist::shapes {

struct CheckerOptions {
  double colour_tolerance = 40.0;  // YCbCr distance (BT.601, full range) to the palette or to a
                                   // mix of an object colour with the background, else "unknown"
  // A region counts (as an object or an extra) when it has at least region_fraction of the area
  // of a small triangle in pixels and some pixels deeper than 1 px (see docs).
  double region_fraction = 0.5;
  double core_fraction = 0.05;     // of a small triangle's area: pixels whose 4 neighbours match
  double presence_fraction = 0.9;  // an object must be seen on this share of the frames
  double extra_fraction = 0.1;     // an extra region must be seen on this share (at least 1 frame)
  double min_shape_iou = 0.6;      // below it the shape is "unclear"
  int shape_frames = 8;            // frames (evenly spaced) whose shape is measured
  double size_split = 0.24;        // s / m below it is small (geometric mean of 0.18 and 0.32)
  double speed_min = 0.5, speed_max = 2.0;  // accepted speeds, in units of m/64 px per frame
  double still_speed = 0.3;                 // |velocity| below it, in units of m/64, is still
  double still_slack_px = 1.0;            // a still centre may wander this much (plus still_speed)
  double spin_min = 0.4, spin_max = 2.5;  // accepted spin rates, in units of pi/32 per frame
  double bounce_reversal = 12.0;  // rise (in g) of the centre over 2 frames each side of a bounce
  double bottom_slack_px = 1.5, bottom_slack_m = 0.04;  // bounce: gap to the bottom edge allowed
  double gravity_min = 0.25, gravity_max = 4.0;         // accepted arc accelerations, in units of g
  int gravity_fit_frames = 7;       // arcs of at least this many frames have their g measured,
  double gravity_min_sag_px = 2.0;  // when g (n - 1)^2 / 8 (their sag) is at least this
};

struct AttributeCheck {
  std::string name, expected, found;
  bool ok = false;
  bool checkable = true;  // false: cannot be seen in this video (motion on 1 frame); ok is true
  std::string detail;     // measurements behind `found`
};

// Where the checker saw one of the caption's objects on one frame: the centroid of its region
// (pixels, x right, y down, the world's axes) and its area in pixels.
struct TrackPoint {
  int frame = 0;
  double x = 0, y = 0, area = 0;
};

struct ClipCheck {
  std::string caption;
  bool ok = false;
  std::vector<AttributeCheck> attributes;
  // One track per caption object, in caption order: the frames that show it (its colour's
  // largest region), in order. What motion is judged from; benchmarks measure seams with it.
  std::vector<std::vector<TrackPoint>> tracks;
};

// Throws cubist::Error when the caption is outside the grammar or breaks a world rule (two
// objects of one colour, a spinning circle), or when the video is empty.
ClipCheck check_video(const Video& video, std::string_view caption, const CheckerOptions& opt = {});
ClipCheck check_video(const Video& video, const SceneSpec& spec, const CheckerOptions& opt = {});

// {"caption": ..., "ok": ..., "attributes": [{"name", "expected", "found", "ok"[, "checkable",
// "detail"]}, ...]}, and with `tracks` also "tracks": [{"object": 1, "frame": [...], "x": [...],
// "y": [...], "area": [...]}, ...] (positions to 0.01 px).
nlohmann::ordered_json to_json(const ClipCheck& check, bool tracks = false);

// "object 2 shape" -> "shape"; "background" -> "background".
std::string attribute_kind(const std::string& name);

// Scores over many clips: the share of clips with every attribute right, per kind of attribute
// the share right among the checkable ones, and both by the caption's number of objects (where
// a model fails as scenes fill: objects it leaves out, counted apart from objects drawn wrong).
struct ScoreSummary {
  struct Count {
    int64_t right = 0, checked = 0, not_checkable = 0;
  };
  struct ByObjects {
    int64_t clips = 0, clips_ok = 0;
    int64_t objects_missing = 0;  // caption objects not seen on enough frames
  };
  int64_t clips = 0, clips_ok = 0;  // clips checked, and those with every attribute right
  int64_t errors = 0;               // clips that could not be read or checked
  std::map<std::string, Count> attributes;
  std::map<int, ByObjects> by_objects;  // keyed by the caption's number of objects
  void add(const ClipCheck& check);
  // Clips that could not be checked count as wrong.
  double clip_accuracy() const {
    return clips + errors ? static_cast<double>(clips_ok) / static_cast<double>(clips + errors)
                          : 0.0;
  }
};
nlohmann::ordered_json to_json(const ScoreSummary& s);

}  // namespace cubist::shapes
