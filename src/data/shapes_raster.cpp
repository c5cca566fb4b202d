// Shapes World geometry and rasteriser (see shapes_raster.h for the conventions).
#include "data/shapes_raster.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"

namespace cubist::shapes {
namespace {

// cos(k pi / 32) for k = 0..16, correctly rounded (computed at 200 bits with mpmath).
constexpr std::array<double, 17> kCosQuarter = {1.0,
                                                0.9951847266721969,
                                                0.9807852804032304,
                                                0.9569403357322088,
                                                0.9238795325112867,
                                                0.881921264348355,
                                                0.8314696123025452,
                                                0.773010453362737,
                                                0.7071067811865476,
                                                0.6343932841636455,
                                                0.5555702330196022,
                                                0.47139673682599764,
                                                0.3826834323650898,
                                                0.2902846772544624,
                                                0.19509032201612828,
                                                0.0980171403295606,
                                                0.0};

// Vertices of the polygon in "math" coordinates relative to the centre (x right, y UP), in
// counter-clockwise order, at angle 0.
struct Polygon {
  std::array<double, 8> x, y;
  int n;
};

Polygon base_polygon(Shape shape, double s) {
  Polygon p{};
  if (shape == Shape::kSquare) {
    const double h = s / 2;
    p.n = 4;
    p.x = {h, -h, -h, h};
    p.y = {h, h, -h, -h};
  } else {
    // Equilateral triangle around its centroid: circumradius R = s / sqrt(3), the apex up.
    const double r = s / std::sqrt(3.0);
    p.n = 3;
    p.x = {0.0, -s / 2, s / 2};
    p.y = {r, -r / 2, -r / 2};
  }
  return p;
}

// The polygon rotated counter-clockwise by the placement's angle (in math coordinates, y up,
// counter-clockwise is counter-clockwise on the screen too once y is flipped back).
Polygon rotated_polygon(const Placement& pl) {
  Polygon p = base_polygon(pl.shape, pl.side);
  for (int i = 0; i < p.n; ++i) {
    const double x = p.x[i], y = p.y[i];
    p.x[i] = x * pl.cos_a - y * pl.sin_a;
    p.y[i] = x * pl.sin_a + y * pl.cos_a;
  }
  return p;
}

}  // namespace

double cos_step(int k) {
  k = ((k % kAngleSteps) + kAngleSteps) % kAngleSteps;
  if (k <= 16) return kCosQuarter[k];
  if (k <= 32) return -kCosQuarter[32 - k];
  if (k <= 48) return -kCosQuarter[k - 32];
  return kCosQuarter[64 - k];
}

double sin_step(int k) { return cos_step(16 - k); }  // sin a = cos(pi/2 - a)

Placement placement(const Scene& scene, const Object& obj, int t) {
  const Pose pose = pose_at(scene, obj, t);
  return {obj.spec.shape,
          static_cast<double>(side_length(scene, obj)),
          pose.cx,
          pose.cy,
          cos_step(pose.angle),
          sin_step(pose.angle)};
}

Extent extent(const Placement& pl) {
  if (pl.shape == Shape::kCircle) return {pl.side / 2, pl.side / 2, pl.side / 2, pl.side / 2};
  const Polygon p = rotated_polygon(pl);
  double xmin = p.x[0], xmax = p.x[0], ymin = p.y[0], ymax = p.y[0];
  for (int i = 1; i < p.n; ++i) {
    xmin = std::min(xmin, p.x[i]);
    xmax = std::max(xmax, p.x[i]);
    ymin = std::min(ymin, p.y[i]);
    ymax = std::max(ymax, p.y[i]);
  }
  return {-xmin, xmax, ymax, -ymin};  // screen top is math y max
}

Extent spinning_extent(Shape shape, double side) {
  const double r = shape == Shape::kCircle   ? side / 2
                   : shape == Shape::kSquare ? side / std::sqrt(2.0)
                                             : side / std::sqrt(3.0);
  return {r, r, r, r};
}

CoverageTest::CoverageTest(const Placement& p) : p_(p) {
  if (p.shape == Shape::kCircle) return;
  const Polygon poly = rotated_polygon(p);
  n_ = poly.n;
  for (int i = 0; i < n_; ++i) {
    vx_[i] = poly.x[i];
    vy_[i] = poly.y[i];
  }
}

bool CoverageTest::operator()(double x, double y) const {
  const double dx = x - p_.cx, dy = p_.cy - y;  // math coordinates, y up
  if (n_ == 0) return dx * dx + dy * dy <= p_.side * p_.side / 4;
  for (int i = 0; i < n_; ++i) {
    const int j = i + 1 == n_ ? 0 : i + 1;
    // Inside a counter-clockwise convex polygon: left of (or on) every edge.
    const double cross = (vx_[j] - vx_[i]) * (dy - vy_[i]) - (vy_[j] - vy_[i]) * (dx - vx_[i]);
    if (cross < 0) return false;
  }
  return true;
}

PixelBox pixel_box(const Placement& p, int width, int height) {
  const Extent e = extent(p);
  // Pixel x is covered only if x + 0.5 lies in [cx - left, cx + right].
  const auto lo = [](double v) { return static_cast<int>(std::ceil(v - 0.5)); };
  const auto hi = [](double v) { return static_cast<int>(std::floor(v - 0.5)) + 1; };
  return {std::max(0, lo(p.cx - e.left)), std::max(0, lo(p.cy - e.top)),
          std::min(width, hi(p.cx + e.right)), std::min(height, hi(p.cy + e.bottom))};
}

void render_frame(const Scene& scene, int t, uint8_t* out) {
  const Rgb bg = rgb(scene.background);
  const int64_t n = static_cast<int64_t>(scene.width) * scene.height;
  for (int64_t i = 0; i < n; ++i) {
    out[3 * i] = bg.r;
    out[3 * i + 1] = bg.g;
    out[3 * i + 2] = bg.b;
  }
  for (const Object& obj : scene.objects) {
    const Rgb c = rgb(obj.spec.colour);
    for_each_covered(placement(scene, obj, t), scene.width, scene.height, [&](int x, int y) {
      uint8_t* px = out + 3 * (static_cast<int64_t>(y) * scene.width + x);
      px[0] = c.r;
      px[1] = c.g;
      px[2] = c.b;
    });
  }
}

Video render(const Scene& scene) {
  check_clip_size(scene.width, scene.height);
  check_frame_count(scene.frames);
  Video v(scene.frames, scene.height, scene.width, kFps);
  for (int t = 0; t < scene.frames; ++t) render_frame(scene, t, v.frame(t));
  return v;
}

bool has_overlap(const Scene& scene) {
  std::vector<uint8_t> used(static_cast<size_t>(scene.width) * scene.height);
  for (int t = 0; t < scene.frames; ++t) {
    std::fill(used.begin(), used.end(), 0);
    bool clash = false;
    for (const Object& obj : scene.objects)
      for_each_covered(placement(scene, obj, t), scene.width, scene.height, [&](int x, int y) {
        uint8_t& u = used[static_cast<size_t>(y) * scene.width + x];
        clash |= u != 0;
        u = 1;
      });
    if (clash) return true;
  }
  return false;
}

bool leaves_frame(const Scene& scene) {
  for (int t = 0; t < scene.frames; ++t)
    for (const Object& obj : scene.objects) {
      const Placement p = placement(scene, obj, t);
      const Extent e = extent(p);
      constexpr double kEps = 1e-9;  // rounding of sqrt(3) in the triangle's extents
      if (p.cx - e.left < -kEps || p.cx + e.right > scene.width + kEps || p.cy - e.top < -kEps ||
          p.cy + e.bottom > scene.height + kEps)
        return true;
    }
  return false;
}

}  // namespace cubist::shapes
