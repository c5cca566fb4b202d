// Shapes World geometry and rasteriser: hard edges, a pixel is covered when its centre
// (x + 0.5, y + 0.5) lies inside the shape or on its boundary (the shape is a closed set).
//   circle: diameter s around the centre;
//   square: side s, axis-aligned at angle 0;
//   triangle: equilateral, side s, centred on its centroid, one vertex straight up at angle 0.
// A rotation by a turns the shape counter-clockwise on the screen (y points down). Angles of the
// world are multiples of pi/32 and use an exact table of cosines, so rendering does not depend on
// the C library's sin/cos; the checker's templates take any angle in radians.
#pragma once

#include <cstdint>
#include <vector>

#include "data/shapes_world.h"
#include "io/video.h"

namespace cubist::shapes {

// cos and sin of k * pi / 32, correctly rounded (k taken modulo 64).
double cos_step(int k);
double sin_step(int k);

// A shape where it is drawn: centre, side and the cosine/sine of its angle.
struct Placement {
  Shape shape;
  double side;
  double cx, cy;
  double cos_a = 1.0, sin_a = 0.0;
};
Placement placement(const Scene& scene, const Object& obj, int t);

// How far the shape reaches from its centre to the left, right, top (y smaller) and bottom.
struct Extent {
  double left, right, top, bottom;
};
Extent extent(const Placement& p);
// The largest extent over every rotation (the circumscribed radius in every direction): what a
// spinning object needs.
Extent spinning_extent(Shape shape, double side);

// The inside test of one placed shape, with its vertices worked out once.
class CoverageTest {
 public:
  explicit CoverageTest(const Placement& p);
  bool operator()(double x, double y) const;

 private:
  Placement p_;
  int n_ = 0;  // 0 for a circle, else the polygon's vertices relative to the centre, math
  double vx_[4] = {}, vy_[4] = {};  // coordinates (y up), counter-clockwise
};
inline bool covers(const Placement& p, double x, double y) { return CoverageTest(p)(x, y); }

// Calls f(x, y) for every pixel of a width x height frame whose centre the shape covers, row by
// row. Pixels outside the frame are skipped.
template <typename F>
void for_each_covered(const Placement& p, int width, int height, F&& f);

// Renders the scene: the background, then every object in its colour.
Video render(const Scene& scene);
void render_frame(const Scene& scene, int t, uint8_t* rgb);

// True when two objects cover one pixel on some frame, or an object leaves the frame (its
// geometric extent leaves [0, W] x [0, H]) on some frame.
bool has_overlap(const Scene& scene);
bool leaves_frame(const Scene& scene);

// ---- implementation of the template ----
struct PixelBox {
  int x0, y0, x1, y1;  // half-open [x0, x1) x [y0, y1), clipped to the frame
};
PixelBox pixel_box(const Placement& p, int width, int height);

template <typename F>
void for_each_covered(const Placement& p, int width, int height, F&& f) {
  const PixelBox b = pixel_box(p, width, height);
  const CoverageTest inside(p);
  for (int y = b.y0; y < b.y1; ++y)
    for (int x = b.x0; x < b.x1; ++x)
      if (inside(x + 0.5, y + 0.5)) f(x, y);
}

}  // namespace cubist::shapes
