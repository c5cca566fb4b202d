// Shapes World v1 (/work/shared/spec/shapes-world.md; our choices in docs/SHAPES_WORLD.md): the
// vocabulary (palette, shapes, sizes, motions), what a caption says about a clip (SceneSpec), a
// placed scene (Scene), and where every object is on every frame (pose_at).
//
// Coordinates are in pixels with the origin at the top-left corner of the frame, x to the right
// and y DOWN; pixel (x, y) is the unit square [x, x+1) x [y, y+1) and its centre is (x+.5, y+.5).
// Angles are counted counter-clockwise as seen on the screen, in steps of pi/32.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cubist::shapes {

enum class Colour : uint8_t { kRed, kGreen, kBlue, kYellow, kMagenta, kCyan, kOrange, kWhite };
enum class Background : uint8_t { kBlack, kGray, kNavy, kBrown };
enum class Shape : uint8_t { kCircle, kSquare, kTriangle };
enum class Size : uint8_t { kSmall, kLarge };
enum class Motion : uint8_t { kLeft, kRight, kUp, kDown, kBouncing, kSpinning, kStill };

inline constexpr int kNumColours = 8, kNumBackgrounds = 4, kNumShapes = 3, kNumSizes = 2,
                     kNumMotions = 7;

inline constexpr double kFps = 8.0;
inline constexpr int kMinSide = 32, kMaxSide = 256, kSideMultiple = 16;
inline constexpr int kMaxFrames = 33, kMaxObjects = 3;
inline constexpr int kAngleSteps = 64;  // a full turn in steps of pi/32

struct Rgb {
  uint8_t r, g, b;
  bool operator==(const Rgb&) const = default;
};
Rgb rgb(Colour c);
Rgb rgb(Background b);

// The caption words ("red", "navy", "circle", "small", "moving left", ...).
std::string_view name(Colour c);
std::string_view name(Background b);
std::string_view name(Shape s);
std::string_view name(Size s);
std::string_view name(Motion m);
std::optional<Colour> colour_named(std::string_view word);
std::optional<Background> background_named(std::string_view word);
std::optional<Shape> shape_named(std::string_view word);
std::optional<Size> size_named(std::string_view word);
std::optional<Motion> motion_named(std::string_view words);

// Spinning is for squares and triangles only.
bool can_spin(Shape s);

// Throw cubist::Error unless W and H are multiples of 16 in [32, 256] / T = 1 + 4k with k <= 8.
void check_clip_size(int width, int height);
void check_frame_count(int frames);

// m = min(W, H) and the quantities the spec derives from it.
inline int min_side(int width, int height) { return width < height ? width : height; }
int side_length(Size s, int width, int height);  // round(0.18 m) or round(0.32 m), half away from 0
inline double speed(int width, int height) { return min_side(width, height) / 64.0; }
inline double gravity(int width, int height) { return min_side(width, height) / 256.0; }
inline constexpr double kMinBouncePeriod = 16.0;  // P >= 16 frames <=> arc height >= m/8

// What a caption says: one background and 1 to 3 objects, in caption order.
struct ObjectSpec {
  Size size = Size::kSmall;
  Colour colour = Colour::kRed;
  Shape shape = Shape::kCircle;
  Motion motion = Motion::kStill;
  bool operator==(const ObjectSpec&) const = default;
};
struct SceneSpec {
  Background background = Background::kBlack;
  std::vector<ObjectSpec> objects;
  bool operator==(const SceneSpec&) const = default;
};

// The first rule of the world a spec breaks (no objects or more than 3, two objects of one
// colour, a spinning circle), or nullopt when it keeps them all.
std::optional<std::string> world_rule_violation(const SceneSpec& spec);

// An object placed in a clip. Which fields matter depends on the motion:
//   moving / standing still: the centre (x0, y0) at frame 0;
//   spinning: the centre and angle0, the orientation at frame 0 in steps of pi/32;
//   bouncing: x0, the bounce period (frames) and the time of one bounce (frames, may be
//   negative or past the end); y follows the spec's closed form.
struct Object {
  ObjectSpec spec;
  double x0 = 0, y0 = 0;
  int angle0 = 0;
  double period = 0, bounce_time = 0;
};

struct Scene {
  int width = 64, height = 64, frames = 1;
  Background background = Background::kBlack;
  std::vector<Object> objects;
  SceneSpec spec() const;
};

// Where an object is on frame t: its centre and its orientation (steps of pi/32 CCW, 0..63).
struct Pose {
  double cx, cy;
  int angle;
};
Pose pose_at(const Scene& scene, const Object& obj, int t);

// The side length s of the object in this scene.
inline int side_length(const Scene& scene, const Object& obj) {
  return side_length(obj.spec.size, scene.width, scene.height);
}

// Bouncing: the height of the arc (m/8 or more) and the speed at the bounce.
double arc_height(const Scene& scene, const Object& obj);
double bounce_speed(const Scene& scene, const Object& obj);

}  // namespace cubist::shapes
