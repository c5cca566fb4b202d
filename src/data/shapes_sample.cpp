// Shapes World scene sampling (see shapes_sample.h and docs/SHAPES_WORLD.md).
#include "data/shapes_sample.h"

#include <array>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "data/shapes_caption.h"
#include "data/shapes_raster.h"

namespace cubist::shapes {
namespace {

constexpr double kPositionGrid = 16.0;  // start positions are multiples of 1/16 pixel
constexpr double kPeriodGrid = 4.0;     // bounce periods are multiples of 1/4 frame

int uniform_int(Generator& gen, int n) { return static_cast<int>(gen.randint(n)); }

// A uniform multiple of 1/grid in [lo, hi]; false when there is none.
bool draw_on_grid(Generator& gen, double lo, double hi, double grid, double* out) {
  const double klo = std::ceil(lo * grid), khi = std::floor(hi * grid);
  if (klo > khi) return false;
  *out = (klo + static_cast<double>(gen.randint(static_cast<uint64_t>(khi - klo) + 1))) / grid;
  return true;
}

// Draws the start of one object; false when its ranges are empty.
bool place_object(const ObjectSpec& spec, int width, int height, int frames, Generator& gen,
                  Object* out) {
  const double s = side_length(spec.size, width, height);
  const Extent e = spec.motion == Motion::kSpinning ? spinning_extent(spec.shape, s)
                                                    : extent(Placement{spec.shape, s, 0, 0});
  const double travel = speed(width, height) * (frames - 1);
  double xlo = e.left, xhi = width - e.right, ylo = e.top, yhi = height - e.bottom;
  switch (spec.motion) {
    case Motion::kLeft:
      xlo += travel;
      break;
    case Motion::kRight:
      xhi -= travel;
      break;
    case Motion::kUp:
      ylo += travel;
      break;
    case Motion::kDown:
      yhi -= travel;
      break;
    default:
      break;
  }
  Object o;
  o.spec = spec;
  if (!draw_on_grid(gen, xlo, xhi, kPositionGrid, &o.x0)) return false;
  if (spec.motion == Motion::kBouncing) {
    // Arc height h = g P^2 / 8 must keep the top of the shape inside: h <= H - e.top - e.bottom.
    const double g = gravity(width, height);
    const double pmax = std::sqrt(8.0 * (height - e.top - e.bottom) / g);
    if (!draw_on_grid(gen, kMinBouncePeriod, pmax, kPeriodGrid, &o.period)) return false;
    if (frames >= 5) {
      o.bounce_time = 1 + uniform_int(gen, frames - 2);  // a bounce on a frame in [1, T-2]
    } else {
      const int phases = static_cast<int>(o.period * kPositionGrid);  // u uniform in [0, P)
      o.bounce_time = -uniform_int(gen, phases) / kPositionGrid;
    }
  } else if (!draw_on_grid(gen, ylo, yhi, kPositionGrid, &o.y0)) {
    return false;
  }
  if (spec.motion == Motion::kSpinning) o.angle0 = uniform_int(gen, kAngleSteps);
  *out = o;
  return true;
}

}  // namespace

SceneSpec sample_spec(Generator& gen) {
  SceneSpec spec;
  spec.background = static_cast<Background>(uniform_int(gen, kNumBackgrounds));
  const int n = 1 + uniform_int(gen, kMaxObjects);
  std::array<int, kNumColours> colours;
  std::iota(colours.begin(), colours.end(), 0);
  for (int i = 0; i < n; ++i) std::swap(colours[i], colours[i + uniform_int(gen, kNumColours - i)]);
  for (int i = 0; i < n; ++i) {
    ObjectSpec o;
    o.colour = static_cast<Colour>(colours[i]);
    o.shape = static_cast<Shape>(uniform_int(gen, kNumShapes));
    o.size = static_cast<Size>(uniform_int(gen, kNumSizes));
    // Uniform over the motions this shape can make (circles do not spin): spinning is the last
    // but one motion, so draw over 6 and skip it for circles.
    int m = uniform_int(gen, can_spin(o.shape) ? kNumMotions : kNumMotions - 1);
    if (!can_spin(o.shape) && m >= static_cast<int>(Motion::kSpinning)) ++m;
    o.motion = static_cast<Motion>(m);
    spec.objects.push_back(o);
  }
  return spec;
}

bool try_place(const SceneSpec& spec, int width, int height, int frames, Generator& gen,
               Scene* out) {
  check_clip_size(width, height);
  check_frame_count(frames);
  if (const auto bad = world_rule_violation(spec))
    fail("shapes world: cannot place the scene \"", canonical_caption(spec), "\": ", *bad);
  Scene scene;
  scene.width = width;
  scene.height = height;
  scene.frames = frames;
  scene.background = spec.background;
  for (int attempt = 0; attempt < kPlacementAttempts; ++attempt) {
    scene.objects.assign(spec.objects.size(), Object{});
    bool ok = true;
    for (size_t i = 0; i < spec.objects.size() && ok; ++i)
      ok = place_object(spec.objects[i], width, height, frames, gen, &scene.objects[i]);
    if (!ok) continue;
    for (Object& o : scene.objects)
      if (o.spec.motion == Motion::kBouncing) o.y0 = pose_at(scene, o, 0).cy;
    if (leaves_frame(scene) || has_overlap(scene)) continue;
    *out = scene;
    return true;
  }
  return false;
}

Scene place_scene(const SceneSpec& spec, int width, int height, int frames, Generator& gen) {
  Scene scene;
  if (!try_place(spec, width, height, frames, gen, &scene))
    fail("shapes world: could not place \"", canonical_caption(spec), "\" in a ", width, "x",
         height, " clip of ", frames, " frames without overlaps in ", kPlacementAttempts, " tries");
  return scene;
}

Scene sample_scene(int width, int height, int frames, Generator& gen) {
  check_clip_size(width, height);
  check_frame_count(frames);
  Scene scene;
  for (int attempt = 0; attempt < kSceneAttempts; ++attempt)
    if (try_place(sample_spec(gen), width, height, frames, gen, &scene)) return scene;
  fail("shapes world: no scene fitted a ", width, "x", height, " clip of ", frames, " frames in ",
       kSceneAttempts, " tries");
}

}  // namespace cubist::shapes
