// Shapes World v1 generator: palette, sizes, rasteriser conventions, sampling invariants (inside
// the frame, no overlaps), motion formulas, determinism, caption grammar and the dataset writer.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numbers>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/rng.h"
#include "data/shapes_caption.h"
#include "data/shapes_dataset.h"
#include "data/shapes_raster.h"
#include "data/shapes_sample.h"
#include "testing.h"

namespace cubist::shapes {
namespace {

const std::vector<ClipSize> kSizes = {{32, 32}, {48, 32},  {32, 48},   {64, 64},  {96, 64},
                                      {64, 96}, {112, 64}, {256, 256}, {256, 32}, {32, 256}};
const std::vector<int> kFrames = {1, 5, 9, 17, 33};

TEST(ShapesWorld, PaletteIsExact) {
  const std::vector<std::pair<Colour, Rgb>> objects = {
      {Colour::kRed, {230, 40, 40}},      {Colour::kGreen, {40, 200, 60}},
      {Colour::kBlue, {50, 90, 240}},     {Colour::kYellow, {240, 220, 40}},
      {Colour::kMagenta, {220, 60, 220}}, {Colour::kCyan, {40, 210, 220}},
      {Colour::kOrange, {250, 140, 30}},  {Colour::kWhite, {245, 245, 245}}};
  for (const auto& [c, want] : objects) EXPECT_EQ(rgb(c), want) << name(c);
  EXPECT_EQ(rgb(Background::kBlack), (Rgb{0, 0, 0}));
  EXPECT_EQ(rgb(Background::kGray), (Rgb{110, 110, 110}));
  EXPECT_EQ(rgb(Background::kNavy), (Rgb{20, 25, 70}));
  EXPECT_EQ(rgb(Background::kBrown), (Rgb{70, 45, 20}));
}

TEST(ShapesWorld, SideLengthsRound) {
  // m -> (round(0.18 m), round(0.32 m))
  const std::map<int, std::pair<int, int>> want = {{32, {6, 10}},  {48, {9, 15}},  {64, {12, 20}},
                                                   {80, {14, 26}}, {96, {17, 31}}, {112, {20, 36}},
                                                   {256, {46, 82}}};
  for (const auto& [m, s] : want) {
    EXPECT_EQ(side_length(Size::kSmall, m, 256), s.first) << m;
    EXPECT_EQ(side_length(Size::kLarge, 256, m), s.second) << m;
  }
  EXPECT_DOUBLE_EQ(speed(96, 64), 1.0);
  EXPECT_DOUBLE_EQ(gravity(96, 64), 0.25);
}

TEST(ShapesWorld, ClipRules) {
  EXPECT_NO_THROW(check_clip_size(32, 256));
  EXPECT_THROW(check_clip_size(50, 64), Error);
  EXPECT_THROW(check_clip_size(16, 64), Error);
  EXPECT_THROW(check_clip_size(64, 272), Error);
  for (int t = 1; t <= 33; t += 4) EXPECT_NO_THROW(check_frame_count(t));
  for (int t : {0, 2, 4, 8, 37}) EXPECT_THROW(check_frame_count(t), Error) << t;
}

int64_t count_covered(const Placement& p, int w, int h) {
  int64_t n = 0;
  for_each_covered(p, w, h, [&](int, int) { ++n; });
  return n;
}

TEST(ShapesRaster, PixelCentresInsideClosedShapes) {
  // A square of side 12 centred on a pixel corner covers exactly 12 x 12 pixels.
  EXPECT_EQ(count_covered({Shape::kSquare, 12, 20, 20}, 64, 64), 144);
  // Edges through pixel centres: the boundary counts as inside, so 13 columns.
  EXPECT_EQ(count_covered({Shape::kSquare, 12, 20.5, 20}, 64, 64), 13 * 12);
  // Circle of diameter 12: brute force over pixel centres.
  int64_t want = 0;
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      want += (x + 0.5 - 30.25) * (x + 0.5 - 30.25) + (y + 0.5 - 30) * (y + 0.5 - 30) <= 36;
  EXPECT_EQ(count_covered({Shape::kCircle, 12, 30.25, 30}, 64, 64), want);
  // Clipping: a shape half outside is drawn only inside.
  EXPECT_EQ(count_covered({Shape::kSquare, 12, 0, 20}, 64, 64), 6 * 12);
}

// Rows (or columns) covered by a shape, as counts per row from the top.
std::vector<int> row_counts(const Placement& p, int size, bool columns) {
  std::vector<int> rows(size, 0);
  for_each_covered(p, size, size, [&](int x, int y) { ++rows[columns ? x : y]; });
  std::vector<int> out;
  for (const int r : rows)
    if (r) out.push_back(r);
  return out;
}

TEST(ShapesRaster, TriangleApexUpAndCounterClockwise) {
  const Placement up{Shape::kTriangle, 30, 32, 32};
  const std::vector<int> rows = row_counts(up, 64, false);
  EXPECT_LT(rows.front(), rows.back()) << "apex up: narrow top row";
  // A quarter turn counter-clockwise on the screen points the apex to the left.
  const Placement left{Shape::kTriangle, 30, 32, 32, cos_step(16), sin_step(16)};
  const std::vector<int> cols = row_counts(left, 64, true);
  EXPECT_LT(cols.front(), cols.back()) << "apex left: narrow left column";
  // And an eighth of a turn puts the apex up and to the left: the topmost covered pixel is
  // left of the centre.
  const Placement tilt{Shape::kTriangle, 30, 32, 32, cos_step(8), sin_step(8)};
  int top_x = -1, top_y = 64;
  for_each_covered(tilt, 64, 64, [&](int x, int y) {
    if (y < top_y) top_y = y, top_x = x;
  });
  EXPECT_LT(top_x, 32);
  // The table of cosines agrees with the library's to rounding.
  for (int k = -64; k <= 128; ++k) {
    EXPECT_NEAR(cos_step(k), std::cos(k * std::numbers::pi / 32), 4e-15) << k;
    EXPECT_NEAR(sin_step(k), std::sin(k * std::numbers::pi / 32), 4e-15) << k;
  }
}

// Every scene of many seeds: the world's rules hold, pixel for pixel.
TEST(ShapesSample, ScenesKeepTheRules) {
  for (int i = 0; i < 400; ++i) {
    const ShapesClip clip = make_clip(31, i, kSizes, kFrames);
    const Scene& s = clip.scene;
    ASSERT_GE(s.objects.size(), 1u);
    ASSERT_LE(s.objects.size(), 3u);
    EXPECT_FALSE(world_rule_violation(s.spec()).has_value()) << clip.caption;
    EXPECT_FALSE(has_overlap(s)) << clip.caption;
    EXPECT_FALSE(leaves_frame(s)) << clip.caption;
    const Video v = render(s);
    const int pad = 64;
    for (int t = 0; t < s.frames; ++t)
      for (const Object& o : s.objects) {
        // Fully inside: drawn in a frame padded by 64 pixels, the shape covers no more pixels.
        Placement p = placement(s, o, t);
        const int64_t inside = count_covered(p, s.width, s.height);
        p.cx += pad, p.cy += pad;
        EXPECT_EQ(count_covered(p, s.width + 2 * pad, s.height + 2 * pad), inside);
        // No overlaps: the rendered frame shows every covered pixel in the object's colour.
        int64_t painted = 0;
        const Rgb c = rgb(o.spec.colour);
        for (int64_t k = 0; k < s.width * s.height; ++k) {
          const uint8_t* px = v.frame(t) + 3 * k;
          painted += px[0] == c.r && px[1] == c.g && px[2] == c.b;
        }
        EXPECT_EQ(painted, inside) << clip.caption << " frame " << t;
        EXPECT_GT(inside, 0);
      }
  }
}

TEST(ShapesSample, MotionFormulas) {
  int bouncing = 0;
  for (int i = 0; i < 600; ++i) {
    const Scene s = make_clip(41, i, kSizes, kFrames).scene;
    const double m = min_side(s.width, s.height), v = m / 64, g = m / 256;
    for (const Object& o : s.objects) {
      const Pose p0 = pose_at(s, o, 0);
      for (int t = 0; t < s.frames; ++t) {
        const Pose p = pose_at(s, o, t);
        switch (o.spec.motion) {
          case Motion::kLeft:
            EXPECT_DOUBLE_EQ(p.cx - p0.cx, -v * t);
            break;
          case Motion::kRight:
            EXPECT_DOUBLE_EQ(p.cx - p0.cx, v * t);
            break;
          case Motion::kUp:
            EXPECT_DOUBLE_EQ(p.cy - p0.cy, -v * t);
            break;
          case Motion::kDown:
            EXPECT_DOUBLE_EQ(p.cy - p0.cy, v * t);
            break;
          case Motion::kSpinning:
            EXPECT_EQ(p.angle, (p0.angle + t) % 64);
            break;
          default:
            break;
        }
        if (o.spec.motion != Motion::kLeft && o.spec.motion != Motion::kRight) {
          EXPECT_EQ(p.cx, p0.cx);
        }
        if (o.spec.motion != Motion::kUp && o.spec.motion != Motion::kDown &&
            o.spec.motion != Motion::kBouncing) {
          EXPECT_EQ(p.cy, p0.cy);
        }
        if (o.spec.motion != Motion::kSpinning) {
          EXPECT_EQ(p.angle, 0);
        }
      }
      if (o.spec.motion != Motion::kBouncing) continue;
      ++bouncing;
      // The closed form, with yb where the lowest point touches the bottom edge.
      const double h = g * o.period * o.period / 8, v0 = std::sqrt(2 * g * h);
      EXPECT_GE(h, m / 8) << "arc height";
      EXPECT_DOUBLE_EQ(arc_height(s, o), h);
      EXPECT_NEAR(bounce_speed(s, o), v0, 1e-12);
      EXPECT_NEAR(o.period, 2 * v0 / g, 1e-12);
      const double sd = side_length(s, o);
      const Extent e = extent(Placement{o.spec.shape, sd, 0, 0});
      const double yb = s.height - e.bottom;
      EXPECT_GE(yb - h - e.top, -1e-9) << "the top of the arc stays inside";
      int bounce_frames = 0;
      for (int t = 0; t < s.frames; ++t) {
        double u = std::fmod(t - o.bounce_time, o.period);
        if (u < 0) u += o.period;
        EXPECT_NEAR(pose_at(s, o, t).cy, yb - v0 * u + g * u * u / 2, 1e-9);
        if (std::abs(pose_at(s, o, t).cy + e.bottom - s.height) < 1e-9 && t >= 1 &&
            t <= s.frames - 2) {
          ++bounce_frames;
          // The rendered shape reaches the last row on a bounce.
          const Video vid = render(s);
          bool bottom_row = false;
          const Rgb c = rgb(o.spec.colour);
          for (int x = 0; x < s.width; ++x) {
            const uint8_t* px = vid.pixel(t, s.height - 1, x);
            bottom_row |= px[0] == c.r && px[1] == c.g && px[2] == c.b;
          }
          EXPECT_TRUE(bottom_row);
        }
        // Between bounces the centre falls with acceleration g.
        if (t >= 1 && t + 1 < s.frames &&
            std::floor((t - 1 - o.bounce_time) / o.period) ==
                std::floor((t + 1 - o.bounce_time) / o.period)) {
          const double acc =
              pose_at(s, o, t + 1).cy - 2 * pose_at(s, o, t).cy + pose_at(s, o, t - 1).cy;
          EXPECT_NEAR(acc, g, 1e-9);
        }
      }
      if (s.frames >= 5) {
        EXPECT_GE(bounce_frames, 1) << "a bounce on a frame of the clip";
      }
    }
  }
  EXPECT_GT(bouncing, 50);
}

TEST(ShapesSample, SpinningOnlyForSquaresAndTriangles) {
  Generator gen(5);
  int spins = 0;
  for (int i = 0; i < 2000; ++i)
    for (const ObjectSpec& o : sample_spec(gen).objects)
      if (o.motion == Motion::kSpinning) {
        ++spins;
        EXPECT_NE(o.shape, Shape::kCircle);
      }
  EXPECT_GT(spins, 200);
  const SceneSpec bad{Background::kBlack,
                      {{Size::kSmall, Colour::kRed, Shape::kCircle, Motion::kSpinning}}};
  EXPECT_THROW(place_scene(bad, 64, 64, 9, gen), Error);
}

uint64_t fnv1a(const std::vector<uint8_t>& bytes, uint64_t h = 1469598103934665603ull) {
  for (const uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

TEST(ShapesDataset, SameSeedSameBytes) {
  const ShapesClip a = make_clip(99, 7, kSizes, kFrames), b = make_clip(99, 7, kSizes, kFrames);
  EXPECT_EQ(render(a.scene).rgb, render(b.scene).rgb);
  EXPECT_EQ(a.caption, b.caption);
  EXPECT_EQ(a.description, b.description);
  EXPECT_NE(render(make_clip(100, 7, kSizes, kFrames).scene).rgb, render(a.scene).rgb);
  // The world's fingerprint: the bytes and captions of 16 clips. A change here means the
  // generator changed, and every dataset made before it would differ: say so in the history.
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < 16; ++i) {
    const ShapesClip c = make_clip(2024, i, {{64, 64}, {96, 64}}, {1, 9, 17});
    h = fnv1a(render(c.scene).rgb, h);
    h = fnv1a(std::vector<uint8_t>(c.description.begin(), c.description.end()), h);
  }
  EXPECT_EQ(h, 14167849239995482763ull) << "fingerprint";
}

TEST(ShapesDataset, ClipsIndependentOfCount) {
  std::map<std::string, std::vector<uint8_t>> small, large;
  const auto dir = std::filesystem::temp_directory_path() / "cubist_shapes_test";
  std::filesystem::remove_all(dir);
  const auto r5 = generate_dataset((dir / "a").string(), 5, kSizes, kFrames, 8,
                                   [&](const std::string& p, const Video& v) {
                                     small[std::filesystem::path(p).filename()] = v.rgb;
                                   });
  const auto r12 = generate_dataset((dir / "b").string(), 12, kSizes, kFrames, 8,
                                    [&](const std::string& p, const Video& v) {
                                      large[std::filesystem::path(p).filename()] = v.rgb;
                                    });
  ASSERT_EQ(r5.size(), 5u);
  ASSERT_EQ(r12.size(), 12u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(r5[i].caption, r12[i].caption);
    const std::string name = std::filesystem::path(r5[i].path).filename();
    EXPECT_EQ(name, std::filesystem::path(r12[i].path).filename());
    EXPECT_EQ(small.at(name), large.at(name));
  }
  std::filesystem::remove_all(dir);
}

TEST(ShapesDataset, ManifestAndErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "cubist_shapes_manifest";
  std::filesystem::remove_all(dir);
  std::vector<std::string> errors;
  int calls = 0;
  const auto writer = [&](const std::string& path, const Video& v) {
    if (calls++ == 2) throw Error("disk full");
    EXPECT_EQ(v.fps, 8.0);
    EXPECT_EQ(path, (dir / ("clip_00000" + std::to_string(calls - 1) + ".mp4")).string());
  };
  const auto records =
      generate_dataset(dir.string(), 4, {{96, 64}}, {9}, 3, writer, "mp4", &errors);
  ASSERT_EQ(records.size(), 3u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("clip 2 (clip_000002.mp4): disk full"), std::string::npos);
  std::ifstream in(dir / "manifest.jsonl");
  std::string line;
  std::vector<std::string> keys;
  int lines = 0;
  while (std::getline(in, line)) {
    const nlohmann::ordered_json j = nlohmann::ordered_json::parse(line);
    keys.clear();
    for (const auto& [k, v] : j.items()) keys.push_back(k);
    EXPECT_EQ(j["frames"], 9);
    EXPECT_EQ(j["width"], 96);
    EXPECT_EQ(j["height"], 64);
    EXPECT_DOUBLE_EQ(j["fps"].get<double>(), 8.0);
    EXPECT_DOUBLE_EQ(j["duration"].get<double>(), 9 / 8.0);
    EXPECT_NO_THROW(parse_caption(j["caption"].get<std::string>()));
    ++lines;
  }
  EXPECT_EQ(lines, 3);
  EXPECT_EQ(keys, (std::vector<std::string>{"path", "caption", "prompt", "description", "frames",
                                            "fps", "width", "height", "duration"}));
  // A folder that holds a data set is refused, and its manifest is left as it was.
  try {
    generate_dataset(dir.string(), 2, {{96, 64}}, {9}, 4, writer);
    FAIL() << "wrote over a data set";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already holds a data set"), std::string::npos);
  }
  EXPECT_EQ(calls, 4) << "no clip written";
  std::ifstream again(dir / "manifest.jsonl");
  EXPECT_EQ(std::count(std::istreambuf_iterator<char>(again), {}, '\n'), 3);
  std::filesystem::remove(dir / "manifest.jsonl");
  calls = 0;
  EXPECT_THROW(generate_dataset(dir.string(), 4, {{96, 64}}, {9}, 3, writer), Error);
  EXPECT_EQ(clip_file_name(42, "png"), "clip_000042");
  std::filesystem::remove_all(dir);
}

// Ctrl-C ends the work between clips, failures of clips aside, and writes no manifest.
TEST(ShapesDataset, StopsBetweenClipsWhenAsked) {
  const auto dir = std::filesystem::temp_directory_path() / "cubist_shapes_stop";
  std::filesystem::remove_all(dir);
  std::atomic<bool> stop{false};
  std::vector<std::string> errors;
  int calls = 0;
  const auto writer = [&](const std::string&, const Video&) {
    if (++calls == 2) stop = true;  // as the signal handler would, while clip 1 is written
  };
  try {
    generate_dataset(dir.string(), 5, {{64, 64}}, {1}, 3, writer, "mp4", &errors, &stop);
    FAIL() << "not stopped";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("interrupted after 2 of 5 clips"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(errors.empty()) << "the stop is not a clip's failure";
  EXPECT_FALSE(std::filesystem::exists(dir / "manifest.jsonl"));
  // The same run again writes over the clips it made, and leaves a finished data set.
  std::ofstream(dir / "clip_000000.mp4") << "a clip of the stopped run";
  stop = false, calls = 0;
  EXPECT_EQ(generate_dataset(dir.string(), 5, {{64, 64}}, {1}, 3, writer, "mp4").size(), 5u);
  EXPECT_EQ(calls, 5);
  EXPECT_TRUE(std::filesystem::exists(dir / "manifest.jsonl"));
  EXPECT_FALSE(std::filesystem::exists(dir / ".unfinished"));
  std::filesystem::remove_all(dir);
}

// A file of a clip's name that no unfinished run of Cubist's wrote is someone's: refused, kept.
TEST(ShapesDataset, KeepsFilesItDidNotWrite) {
  const auto dir = std::filesystem::temp_directory_path() / "cubist_shapes_theirs";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "clip_000001.mp4") << "mine";
  int calls = 0;
  const auto writer = [&](const std::string&, const Video&) { ++calls; };
  const std::string msg = cubist::testing::error_message([&] {
    generate_dataset(dir.string(), 3, {{64, 64}}, {1}, 3, writer, "mp4");
  });
  EXPECT_NE(msg.find("clip_000001.mp4 is there already"), std::string::npos) << msg;
  EXPECT_EQ(calls, 0);
  std::ifstream kept(dir / "clip_000001.mp4");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(kept), {}), "mine");
  std::filesystem::remove_all(dir);
}

TEST(ShapesDataset, ParseSizesAndFrames) {
  EXPECT_EQ(parse_sizes("64x64,96x64"), (std::vector<ClipSize>{{64, 64}, {96, 64}}));
  EXPECT_EQ(parse_frame_counts("1,9,17,33"), (std::vector<int>{1, 9, 17, 33}));
  try {
    parse_sizes("64x64,50x64,64,64x512");
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("50x64 is not allowed"), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"64\" is not WIDTHxHEIGHT"), std::string::npos) << msg;
    EXPECT_NE(msg.find("64x512"), std::string::npos) << msg;
  }
  try {
    parse_frame_counts("1,2,37,x");
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("2 frames is not allowed"), std::string::npos) << msg;
    EXPECT_NE(msg.find("37 frames"), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"x\" is not a whole number"), std::string::npos) << msg;
  }
}

TEST(ShapesCaption, CanonicalRoundTrip) {
  const std::string example =
      "a large red circle bouncing and a small cyan square moving left on a navy background";
  const SceneSpec spec = parse_caption(example);
  EXPECT_EQ(spec.background, Background::kNavy);
  ASSERT_EQ(spec.objects.size(), 2u);
  EXPECT_EQ(spec.objects[0],
            (ObjectSpec{Size::kLarge, Colour::kRed, Shape::kCircle, Motion::kBouncing}));
  EXPECT_EQ(spec.objects[1],
            (ObjectSpec{Size::kSmall, Colour::kCyan, Shape::kSquare, Motion::kLeft}));
  EXPECT_EQ(canonical_caption(spec), example);
  EXPECT_EQ(canonical_caption(parse_caption(
                "a small white triangle spinning, a large orange square standing still and a "
                "small green circle moving down on a brown background")),
            "a small white triangle spinning, a large orange square standing still and a small "
            "green circle moving down on a brown background");
  // Render -> caption -> parse gives back the scene's facts.
  for (int i = 0; i < 300; ++i) {
    const ShapesClip c = make_clip(12, i, kSizes, kFrames);
    EXPECT_EQ(parse_caption(c.caption), c.scene.spec());
    EXPECT_EQ(canonical_caption(parse_caption(c.caption)), c.caption);
  }
}

void expect_error(const std::string& caption, const std::vector<std::string>& parts) {
  try {
    parse_caption(caption);
    ADD_FAILURE() << "accepted: " << caption;
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << msg;
  }
}

TEST(ShapesCaption, ErrorsSayWhichWordAndWhatIsAccepted) {
  expect_error("a purple circle bouncing on a navy background",
               {"word 2 \"purple\"", "a size (small, large)"});
  expect_error(
      "a small purple circle bouncing on a navy background",
      {"word 3 \"purple\"", "a colour (red, green, blue, yellow, magenta, cyan, orange, white)"});
  expect_error("a small red hexagon bouncing on a navy background",
               {"word 4", "a shape (circle, square, triangle)"});
  expect_error("a small red circle jumping on a navy background",
               {"word 5 \"jumping\"", "moving left", "standing still"});
  expect_error("a small red circle moving sideways on a navy background",
               {"word 6 \"sideways\"", "left, right, up, down"});
  expect_error("a small red circle bouncing on a pink background", {"word 8", "black, gray"});
  expect_error("a small red circle bouncing on a navy background.", {"word 9", "full stop"});
  expect_error("A small red circle bouncing on a navy background", {"word 1", "lower case"});
  expect_error("a small red circle bouncing  on a navy background", {"word 6", "two spaces"});
  expect_error("a small red circle bouncing on a navy", {"ends too early", "\"background\""});
  expect_error("a small red circle bouncing on a navy background today", {"word 10", "end"});
  expect_error(
      "a small red circle bouncing and a large blue square moving up and a small green "
      "circle moving down on a navy background",
      {"word 13 \"and\"", "\"on\""});
  expect_error("a small red circle bouncing, a large blue square moving up on a navy background",
               {"word 12 \"on\"", "\"and\""});
  expect_error("", {"empty"});
}

TEST(ShapesCaption, PromptsAndDescriptions) {
  SceneSpec spec{Background::kNavy,
                 {{Size::kLarge, Colour::kRed, Shape::kCircle, Motion::kBouncing},
                  {Size::kSmall, Colour::kCyan, Shape::kSquare, Motion::kLeft}}};
  EXPECT_EQ(short_prompt(spec), "a red circle bouncing and a cyan square moving left");
  spec.objects[1].colour = Colour::kOrange;
  EXPECT_EQ(short_prompt(spec), "a red circle bouncing and an orange square moving left");
  spec.objects[1].colour = Colour::kCyan;
  // Template 0, size words "large"/"small" (bit 0 = 0), phrase 0 for the circle (bits 1-2) and
  // phrase 1 for the square (bits 4-5).
  EXPECT_EQ(describe(spec, 0, uint64_t{1} << 4),
            "On a navy background, a large red circle bounces while a small cyan square slides "
            "to the left.");
  Generator gen(3);
  for (int i = 0; i < 200; ++i) {
    const SceneSpec s = sample_spec(gen);
    std::set<std::string> seen;
    for (int t = 0; t < kDescriptionTemplates; ++t) {
      const std::string d = describe(s, t, gen.next_u64());
      seen.insert(d);
      EXPECT_NE(d.find(std::string(name(s.background))), std::string::npos) << d;
      for (const ObjectSpec& o : s.objects) {
        EXPECT_NE(d.find(std::string(name(o.colour)) + " " + std::string(name(o.shape))),
                  std::string::npos)
            << d;
      }
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(kDescriptionTemplates));
  }
}

}  // namespace
}  // namespace cubist::shapes
