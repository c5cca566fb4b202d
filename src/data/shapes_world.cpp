// Shapes World v1: palette, words, clip geometry rules and the motion of objects over time.
#include "data/shapes_world.h"

#include <array>
#include <cmath>

#include "core/error.h"
#include "data/shapes_raster.h"

namespace cubist::shapes {
namespace {

constexpr std::array<Rgb, kNumColours> kColourRgb = {{{230, 40, 40},
                                                      {40, 200, 60},
                                                      {50, 90, 240},
                                                      {240, 220, 40},
                                                      {220, 60, 220},
                                                      {40, 210, 220},
                                                      {250, 140, 30},
                                                      {245, 245, 245}}};
constexpr std::array<Rgb, kNumBackgrounds> kBackgroundRgb = {
    {{0, 0, 0}, {110, 110, 110}, {20, 25, 70}, {70, 45, 20}}};

constexpr std::array<std::string_view, kNumColours> kColourNames = {
    "red", "green", "blue", "yellow", "magenta", "cyan", "orange", "white"};
constexpr std::array<std::string_view, kNumBackgrounds> kBackgroundNames = {"black", "gray", "navy",
                                                                            "brown"};
constexpr std::array<std::string_view, kNumShapes> kShapeNames = {"circle", "square", "triangle"};
constexpr std::array<std::string_view, kNumSizes> kSizeNames = {"small", "large"};
constexpr std::array<std::string_view, kNumMotions> kMotionNames = {
    "moving left", "moving right", "moving up",     "moving down",
    "bouncing",    "spinning",     "standing still"};

template <typename E, size_t N>
std::optional<E> lookup(const std::array<std::string_view, N>& names, std::string_view word) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == word) return static_cast<E>(i);
  return std::nullopt;
}

}  // namespace

Rgb rgb(Colour c) { return kColourRgb[static_cast<size_t>(c)]; }
Rgb rgb(Background b) { return kBackgroundRgb[static_cast<size_t>(b)]; }

std::string_view name(Colour c) { return kColourNames[static_cast<size_t>(c)]; }
std::string_view name(Background b) { return kBackgroundNames[static_cast<size_t>(b)]; }
std::string_view name(Shape s) { return kShapeNames[static_cast<size_t>(s)]; }
std::string_view name(Size s) { return kSizeNames[static_cast<size_t>(s)]; }
std::string_view name(Motion m) { return kMotionNames[static_cast<size_t>(m)]; }

std::optional<Colour> colour_named(std::string_view w) { return lookup<Colour>(kColourNames, w); }
std::optional<Background> background_named(std::string_view w) {
  return lookup<Background>(kBackgroundNames, w);
}
std::optional<Shape> shape_named(std::string_view w) { return lookup<Shape>(kShapeNames, w); }
std::optional<Size> size_named(std::string_view w) { return lookup<Size>(kSizeNames, w); }
std::optional<Motion> motion_named(std::string_view w) { return lookup<Motion>(kMotionNames, w); }

bool can_spin(Shape s) { return s != Shape::kCircle; }

void check_clip_size(int width, int height) {
  for (const int v : {width, height})
    CUBIST_CHECK(v >= kMinSide && v <= kMaxSide && v % kSideMultiple == 0,
                 "shapes world: clip size ", width, "x", height, " is not allowed: width and ",
                 "height must be multiples of ", kSideMultiple, " in [", kMinSide, ", ", kMaxSide,
                 "]");
}

void check_frame_count(int frames) {
  CUBIST_CHECK(frames >= 1 && frames <= kMaxFrames && (frames - 1) % 4 == 0,
               "shapes world: ", frames, " frames is not allowed: the frame count must be 1 + 4k ",
               "with 0 <= k <= 8 (1, 5, 9, ..., 33)");
}

int side_length(Size s, int width, int height) {
  const double m = min_side(width, height);
  return static_cast<int>(std::lround((s == Size::kSmall ? 0.18 : 0.32) * m));
}

std::optional<std::string> world_rule_violation(const SceneSpec& spec) {
  const size_t n = spec.objects.size();
  if (n < 1 || n > static_cast<size_t>(kMaxObjects))
    return detail::concat("a clip has 1 to ", kMaxObjects, " objects, not ", n);
  for (size_t i = 0; i < n; ++i) {
    const ObjectSpec& o = spec.objects[i];
    if (o.motion == Motion::kSpinning && !can_spin(o.shape))
      return detail::concat("object ", i + 1, " is a spinning circle: only squares and ",
                            "triangles spin");
    for (size_t j = 0; j < i; ++j)
      if (spec.objects[j].colour == o.colour)
        return detail::concat("objects ", j + 1, " and ", i + 1, " are both ", name(o.colour),
                              ": every object of a clip has its own colour");
  }
  return std::nullopt;
}

SceneSpec Scene::spec() const {
  SceneSpec s{background, {}};
  for (const Object& o : objects) s.objects.push_back(o.spec);
  return s;
}

double arc_height(const Scene& scene, const Object& obj) {
  return gravity(scene.width, scene.height) * obj.period * obj.period / 8.0;
}

double bounce_speed(const Scene& scene, const Object& obj) {
  return gravity(scene.width, scene.height) * obj.period / 2.0;  // v0 = g P / 2
}

Pose pose_at(const Scene& scene, const Object& obj, int t) {
  const double v = speed(scene.width, scene.height);
  switch (obj.spec.motion) {
    case Motion::kLeft:
      return {obj.x0 - v * t, obj.y0, 0};
    case Motion::kRight:
      return {obj.x0 + v * t, obj.y0, 0};
    case Motion::kUp:
      return {obj.x0, obj.y0 - v * t, 0};
    case Motion::kDown:
      return {obj.x0, obj.y0 + v * t, 0};
    case Motion::kSpinning:
      return {obj.x0, obj.y0, ((obj.angle0 + t) % kAngleSteps)};
    case Motion::kStill:
      return {obj.x0, obj.y0, 0};
    case Motion::kBouncing: {
      // y(t) = yb - v0 u + g u^2 / 2 with u = (t - tb) mod P: the lowest point of the shape
      // touches the bottom edge (y = H) at every bounce.
      const double g = gravity(scene.width, scene.height);
      const double s = side_length(scene, obj);
      const double yb = scene.height - extent(Placement{obj.spec.shape, s, 0, 0}).bottom;
      double u = std::fmod(t - obj.bounce_time, obj.period);
      if (u < 0) u += obj.period;
      return {obj.x0, yb - bounce_speed(scene, obj) * u + g * u * u / 2.0, 0};
    }
  }
  fail("shapes world: unknown motion");
}

}  // namespace cubist::shapes
