// Shapes World checker (see shapes_checker.h and docs/SHAPES_WORLD.md for every rule).
//
// Pipeline: classify every pixel to the nearest of the 12 palette colours (or "unknown"); the
// most common class is the background; per frame, connected regions (8-connected) of every other
// class; an expected object is the largest region of its colour; its area, centroid, lowest row
// and rotation-covariant moments per frame give shape, size and motion.
#include "data/shapes_checker.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <numbers>

#include "core/error.h"
#include "data/shapes_caption.h"
#include "data/shapes_raster.h"

namespace cubist::shapes {
namespace {

constexpr int kUnknown = kNumColours + kNumBackgrounds;  // label of unclassified pixels
constexpr int kLabels = kUnknown + 1;
constexpr double kPi = std::numbers::pi;
constexpr double kFineSearchBelow = 16.0;  // template sides (px) below which the search is finer

Rgb label_rgb(int l) {
  return l < kNumColours ? rgb(static_cast<Colour>(l))
                         : rgb(static_cast<Background>(l - kNumColours));
}

std::string label_name(int l) {
  if (l == kUnknown) return "unknown colour";
  return std::string(l < kNumColours ? name(static_cast<Colour>(l))
                                     : name(static_cast<Background>(l - kNumColours)));
}

// BT.601 luma and chroma (full range). Codecs keep luma at full resolution and halve chroma
// (4:2:0), so an edge pixel of a decoded video has the right luma for its coverage but chroma
// averaged with its neighbours: the checker unmixes the two separately.
struct Ycc {
  double y, cb, cr;
};
Ycc to_ycc(double r, double g, double b) {
  return {0.299 * r + 0.587 * g + 0.114 * b, -0.168736 * r - 0.331264 * g + 0.5 * b,
          0.5 * r - 0.418688 * g - 0.081312 * b};
}

// Pass 1: the nearest palette colour of every pixel (YCbCr distance), or "unknown" beyond the
// tolerance.
std::vector<uint8_t> nearest_labels(const Video& v, double tolerance) {
  std::array<Ycc, kUnknown> pal;
  for (int l = 0; l < kUnknown; ++l) {
    const Rgb c = label_rgb(l);
    pal[l] = to_ycc(c.r, c.g, c.b);
  }
  std::vector<uint8_t> labels(static_cast<size_t>(v.frames * v.height * v.width));
  for (size_t i = 0; i < labels.size(); ++i) {
    const uint8_t* px = v.rgb.data() + 3 * i;
    const Ycc p = to_ycc(px[0], px[1], px[2]);
    int best = kUnknown;
    double best_d = tolerance * tolerance;
    for (int l = 0; l < kUnknown; ++l) {
      const double dy = p.y - pal[l].y, db = p.cb - pal[l].cb, dr = p.cr - pal[l].cr;
      const double d = dy * dy + db * db + dr * dr;
      if (d <= best_d) best_d = d, best = l;
    }
    labels[i] = static_cast<uint8_t>(best);
  }
  return labels;
}

// Pass 2, against the background label bg: a pixel is explained either as a palette colour or
// as a mix of the background with an object colour c (a blurred, anti-aliased or chroma-smeared
// edge): luma = background + a * (c - background) with a in [0, 1], chroma anywhere on the
// segment between the two chromas. The coverage a comes from luma where c and the background
// differ in luma by kLumaContrast or more, else from chroma. The explanation with the smallest
// residual (YCbCr distance) wins; a mix counts as c when a >= 1/2 (the pixel is mostly covered)
// and as background otherwise; a residual above the tolerance is "unknown".
constexpr double kLumaContrast = 12.0;

std::vector<uint8_t> unmixed_labels(const Video& v, int bg, double tolerance) {
  std::array<Ycc, kUnknown> pal;
  for (int l = 0; l < kUnknown; ++l) {
    const Rgb c = label_rgb(l);
    pal[l] = to_ycc(c.r, c.g, c.b);
  }
  const double tol2 = tolerance * tolerance;
  std::vector<uint8_t> labels(static_cast<size_t>(v.frames * v.height * v.width));
  for (size_t i = 0; i < labels.size(); ++i) {
    const uint8_t* px = v.rgb.data() + 3 * i;
    const Ycc p = to_ycc(px[0], px[1], px[2]);
    int best = kUnknown;
    double best_r = 1e300;
    for (int l = 0; l < kUnknown; ++l) {  // pure colours
      const double dy = p.y - pal[l].y, db = p.cb - pal[l].cb, dr = p.cr - pal[l].cr;
      const double r = dy * dy + db * db + dr * dr;
      if (r < best_r) best_r = r, best = l;
    }
    if (bg != kUnknown) {
      const Ycc& b = pal[bg];
      for (int l = 0; l < kNumColours; ++l) {  // mixes of an object colour with the background
        if (l == bg) continue;
        const double dy = pal[l].y - b.y, db = pal[l].cb - b.cb, dr = pal[l].cr - b.cr;
        const double cc = db * db + dr * dr;
        const double ac =
            cc > 0 ? std::clamp(((p.cb - b.cb) * db + (p.cr - b.cr) * dr) / cc, 0.0, 1.0) : 0.0;
        const bool by_luma = std::abs(dy) >= kLumaContrast;
        const double a = by_luma ? std::clamp((p.y - b.y) / dy, 0.0, 1.0) : ac;
        const double ry = p.y - b.y - a * dy, rb = p.cb - b.cb - ac * db,
                     rr = p.cr - b.cr - ac * dr;
        const double r = ry * ry + rb * rb + rr * rr;
        if (r < best_r) best_r = r, best = a >= 0.5 ? l : bg;
      }
    }
    labels[i] = static_cast<uint8_t>(best_r <= tol2 ? best : kUnknown);
  }
  return labels;
}

struct Region {
  int label;
  int64_t area = 0, core = 0;
  double sx = 0, sy = 0;  // sums of pixel centres
  int x0, y0, x1, y1;     // bounding box, inclusive
};

// Connected regions (8-connected, same label) of one frame, leaving out the background label.
// id[pixel] is the region's index or -1.
std::vector<Region> find_regions(const uint8_t* lab, int w, int h, int background,
                                 std::vector<int32_t>& id) {
  id.assign(static_cast<size_t>(w) * h, -1);
  std::vector<Region> regions;
  std::vector<int32_t> stack;
  const auto same = [&](int x, int y, int l) {  // outside the frame counts as the same label
    return x < 0 || y < 0 || x >= w || y >= h || lab[y * w + x] == l;
  };
  for (int start = 0; start < w * h; ++start) {
    if (lab[start] == background || id[start] >= 0) continue;
    Region r{lab[start], 0, 0, 0, 0, w, h, -1, -1};
    const int32_t rid = static_cast<int32_t>(regions.size());
    stack.assign(1, start);
    id[start] = rid;
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      const int x = p % w, y = p / w;
      ++r.area;
      r.sx += x + 0.5;
      r.sy += y + 0.5;
      r.x0 = std::min(r.x0, x), r.x1 = std::max(r.x1, x);
      r.y0 = std::min(r.y0, y), r.y1 = std::max(r.y1, y);
      if (same(x - 1, y, r.label) && same(x + 1, y, r.label) && same(x, y - 1, r.label) &&
          same(x, y + 1, r.label))
        ++r.core;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const int q = ny * w + nx;
          if (id[q] < 0 && lab[q] == r.label) {
            id[q] = rid;
            stack.push_back(q);
          }
        }
    }
    regions.push_back(r);
  }
  return regions;
}

// What one frame shows of one expected object.
struct Sighting {
  int t;
  double area, cx, cy, bottom;           // bottom: one past the lowest covered row
  std::complex<double> c3, c4;           // sum of z^3, z^4 over pixels, z = dx - i dy (math axes)
  std::array<double, kNumShapes> iou{};  // only on measured frames
  bool measured = false;
};

double template_side(Shape s, double area) {
  switch (s) {
    case Shape::kCircle:
      return 2.0 * std::sqrt(area / kPi);
    case Shape::kSquare:
      return std::sqrt(area);
    case Shape::kTriangle:
      return std::sqrt(4.0 * area / std::sqrt(3.0));
  }
  return 0;
}

// Orientation (radians, CCW) of a square or triangle from its 4th or 3rd complex moment: an
// axis-aligned square has arg C4 = pi, an apex-up triangle arg C3 = -pi/2, and turning the shape
// by a multiplies C_n by e^{i n a}.
double moment_angle(Shape s, const Sighting& g) {
  if (s == Shape::kSquare) return (std::arg(g.c4) - kPi) / 4.0;
  if (s == Shape::kTriangle) return (std::arg(g.c3) + kPi / 2.0) / 3.0;
  return 0.0;
}

Sighting measure(const Region& r, int32_t rid, const std::vector<int32_t>& id, int w, int h, int t,
                 bool with_shapes) {
  Sighting g{};
  g.t = t;
  g.area = static_cast<double>(r.area);
  g.cx = r.sx / r.area;
  g.cy = r.sy / r.area;
  g.bottom = r.y1 + 1;
  for (int y = r.y0; y <= r.y1; ++y)
    for (int x = r.x0; x <= r.x1; ++x) {
      if (id[y * w + x] != rid) continue;
      const std::complex<double> z(x + 0.5 - g.cx, g.cy - (y + 0.5));
      const std::complex<double> z3 = z * z * z;
      g.c3 += z3;
      g.c4 += z3 * z;
    }
  if (!with_shapes) return g;
  g.measured = true;
  // Each shape's best template: centred on the centroid, side from the area, turned to the
  // moment orientation. Small blobs are coarse (a 6-pixel circle is a square with its corners
  // cut), so there the search also tries the world's two sides, +-pi/48 turns, and shifts of the
  // centre found coarse to fine (steps of 1/4, 1/8 and 1/16 pixel around the best so far).
  const auto iou = [&](const Placement& p) {
    int64_t tmpl = 0, both = 0;
    for_each_covered(p, w, h, [&](int x, int y) {
      ++tmpl;
      both += id[y * w + x] == rid;
    });
    return static_cast<double>(both) / static_cast<double>(r.area + tmpl - both);
  };
  for (int k = 0; k < kNumShapes; ++k) {
    const Shape s = static_cast<Shape>(k);
    const double a0 = moment_angle(s, g), s0 = template_side(s, g.area);
    if (s0 >= kFineSearchBelow) {
      g.iou[k] = iou({s, s0, g.cx, g.cy, std::cos(a0), std::sin(a0)});
      continue;
    }
    const double sides[3] = {s0, static_cast<double>(side_length(Size::kSmall, w, h)),
                             static_cast<double>(side_length(Size::kLarge, w, h))};
    const int n_angles = s == Shape::kCircle ? 1 : 3;
    double best = 0;
    for (const double side : sides)
      for (int ai = 0; ai < n_angles; ++ai) {
        const double a = a0 + (n_angles == 1 ? 0.0 : (ai - 1) * kPi / 48);
        const double ca = std::cos(a), sa = std::sin(a);
        double cx = g.cx, cy = g.cy, here = iou({s, side, cx, cy, ca, sa});
        for (double step = 0.25; step >= 1.0 / 16; step /= 2) {
          double bx = cx, by = cy;
          for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx) {
              if (!dx && !dy) continue;
              const double v = iou({s, side, cx + dx * step, cy + dy * step, ca, sa});
              if (v > here) here = v, bx = cx + dx * step, by = cy + dy * step;
            }
          cx = bx, cy = by;
        }
        best = std::max(best, here);
      }
    g.iou[k] = best;
  }
  return g;
}

std::string fmt(double v, int digits = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

struct Fit {
  double slope = 0, rms = 0;
};
Fit line_fit(const std::vector<double>& t, const std::vector<double>& y) {
  const double n = static_cast<double>(t.size());
  double mt = 0, my = 0;
  for (size_t i = 0; i < t.size(); ++i) mt += t[i] / n, my += y[i] / n;
  double stt = 0, sty = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    stt += (t[i] - mt) * (t[i] - mt);
    sty += (t[i] - mt) * (y[i] - my);
  }
  Fit f;
  f.slope = stt > 0 ? sty / stt : 0.0;
  double ss = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const double r = y[i] - (my + f.slope * (t[i] - mt));
    ss += r * r;
  }
  f.rms = std::sqrt(ss / n);
  return f;
}

// Least-squares acceleration (2 a2) of y = a0 + a1 t + a2 t^2.
double quadratic_acceleration(const std::vector<double>& t, const std::vector<double>& y) {
  // Normal equations on centred t, solved by Cramer's rule.
  const double n = static_cast<double>(t.size());
  double mt = 0;
  for (double v : t) mt += v / n;
  double s[5] = {}, b[3] = {};
  for (size_t i = 0; i < t.size(); ++i) {
    const double u = t[i] - mt;
    double p = 1;
    for (int k = 0; k < 5; ++k) s[k] += p, p *= u;
    b[0] += y[i], b[1] += u * y[i], b[2] += u * u * y[i];
  }
  const auto det3 = [](double a, double b1, double c, double d, double e, double f, double g,
                       double hh, double i) {
    return a * (e * i - f * hh) - b1 * (d * i - f * g) + c * (d * hh - e * g);
  };
  const double d = det3(s[0], s[1], s[2], s[1], s[2], s[3], s[2], s[3], s[4]);
  if (std::abs(d) < 1e-12) return 0.0;
  const double d2 = det3(s[0], s[1], b[0], s[1], s[2], b[1], s[2], s[3], b[2]);
  return 2.0 * d2 / d;
}

struct MotionVerdict {
  std::string found, detail;
};

class MotionJudge {
 public:
  MotionJudge(const Video& v, const CheckerOptions& opt)
      : opt_(opt),
        w_(static_cast<int>(v.width)),
        h_(static_cast<int>(v.height)),
        frames_(static_cast<int>(v.frames)),
        v_(speed(w_, h_)),
        g_(gravity(w_, h_)) {}

  MotionVerdict judge(const std::vector<Sighting>& track, Shape shape) const {
    std::vector<double> t, x, y;
    for (const Sighting& s : track) t.push_back(s.t), x.push_back(s.cx), y.push_back(s.cy);
    const Fit fx = line_fit(t, x), fy = line_fit(t, y);
    const double span = frames_ - 1;
    const auto range = [](const std::vector<double>& a) {
      const auto [lo, hi] = std::minmax_element(a.begin(), a.end());
      return *hi - *lo;
    };
    const double still_limit = opt_.still_speed * v_;
    const bool still_x =
        std::abs(fx.slope) <= still_limit && range(x) <= still_limit * span + opt_.still_slack_px;
    const bool still_y =
        std::abs(fy.slope) <= still_limit && range(y) <= still_limit * span + opt_.still_slack_px;
    std::string detail = "velocity (" + fmt(fx.slope) + ", " + fmt(fy.slope) +
                         ") px/frame (x right, y down), world speed " + fmt(v_);
    const size_t n_bounces = bounces(track).size();
    if (n_bounces > 0 && still_x) {
      const std::string arcs = check_arcs(track);
      if (arcs.empty())
        return {"bouncing", detail + ", " + std::to_string(n_bounces) + " bounce(s)"};
      detail += ", " + arcs;
    }
    const auto moving = [&](double slope, double rms) {
      const double sp = std::abs(slope);
      return sp >= opt_.speed_min * v_ && sp <= opt_.speed_max * v_ && rms <= 0.5 + 0.1 * sp * span;
    };
    if (still_y && moving(fx.slope, fx.rms))
      return {fx.slope < 0 ? "moving left" : "moving right", detail};
    if (still_x && moving(fy.slope, fy.rms))
      return {fy.slope < 0 ? "moving up" : "moving down", detail};
    if (still_x && still_y) {
      if (shape == Shape::kCircle) return {"standing still", detail};
      const double rate = spin_rate(track, shape);
      detail += ", rotation " + fmt(rate / (kPi / 32)) + " x pi/32 rad/frame counter-clockwise";
      const double r = rate / (kPi / 32);
      if (r >= opt_.spin_min && r <= opt_.spin_max) return {"spinning", detail};
      if (std::abs(r) < opt_.spin_min) return {"standing still", detail};
      return {r < 0 ? "spinning clockwise" : "spinning too fast", detail};
    }
    return {"unclear motion", detail};
  }

 private:
  // Low points: frames whose centre is at least as low (y as large) as both neighbours' while the
  // shape's lowest row is near the bottom edge.
  std::vector<size_t> low_points(const std::vector<Sighting>& tr) const {
    std::vector<size_t> out;
    const double slack = opt_.bottom_slack_px + opt_.bottom_slack_m * min_side(w_, h_);
    for (size_t k = 1; k + 1 < tr.size(); ++k)
      if (tr[k + 1].t - tr[k - 1].t == 2 && tr[k].bottom >= h_ - slack &&
          tr[k].cy >= tr[k - 1].cy && tr[k].cy >= tr[k + 1].cy)
        out.push_back(k);
    return out;
  }

  // Bounces: low points where the centre rises steadily on both sides (up to 3 frames each way)
  // by at least bounce_reversal g in total over up to 2 frames each way. A bounce of the world
  // (P >= 16 frames, so v0 >= 8 g) rises by 20 g or more in that window wherever it falls
  // between frames, which leaves room for the 1/2-pixel steps of a small square's centroid; the
  // jitter of a still or spinning shape neither rises that much nor steadily.
  std::vector<size_t> bounces(const std::vector<Sighting>& tr) const {
    std::vector<size_t> out;
    const auto consecutive = [&](size_t a, size_t b) { return tr[b].t - tr[a].t == int(b - a); };
    for (const size_t k : low_points(tr)) {
      const auto far = [&](int dir) {  // rise over up to 2 frames on one side
        double best = 0;
        for (int j = 1; j <= 2; ++j) {
          const long q = static_cast<long>(k) + dir * j;
          if (q < 0 || q >= static_cast<long>(tr.size()) || std::abs(tr[q].t - tr[k].t) != j) break;
          best = tr[k].cy - tr[q].cy;
        }
        return best;
      };
      const double rise = far(-1) + far(1);
      bool steady = true;
      for (size_t j = 2; j <= 3; ++j) {
        if (k >= j && consecutive(k - j, k)) steady &= tr[k - j].cy <= tr[k - j + 1].cy;
        if (k + j < tr.size() && consecutive(k, k + j)) steady &= tr[k + j].cy <= tr[k + j - 1].cy;
      }
      if (steady && rise >= opt_.bounce_reversal * g_) out.push_back(k);
    }
    return out;
  }

  // Arcs between bounces long enough to measure must fall with an acceleration near g. Returns
  // an empty string when they do, else what is wrong. A low point may lie on either arc, so
  // each arc is the frames strictly between two low points.
  std::string check_arcs(const std::vector<Sighting>& tr) const {
    std::vector<double> t, y;
    std::string bad;
    const auto flush = [&]() {
      // Measured only when the arc's sag below its chord, g (n - 1)^2 / 8, is well above the
      // 1/2-pixel steps of a centroid, and the arc has enough frames.
      const double n = static_cast<double>(t.size());
      if (bad.empty() && n >= opt_.gravity_fit_frames &&
          g_ * (n - 1) * (n - 1) / 8 >= opt_.gravity_min_sag_px) {
        const double a = quadratic_acceleration(t, y) / g_;
        if (a < opt_.gravity_min || a > opt_.gravity_max)
          bad = "arc acceleration " + fmt(a) + " g (world g = " + fmt(g_, 3) + " px/frame^2)";
      }
      t.clear(), y.clear();
    };
    const std::vector<size_t> low = low_points(tr);
    for (size_t k = 0; k < tr.size(); ++k) {
      const bool at_bounce = std::find(low.begin(), low.end(), k) != low.end();
      const bool gap = k > 0 && tr[k].t != tr[k - 1].t + 1;
      if (at_bounce || gap) flush();
      if (!at_bounce) t.push_back(tr[k].t), y.push_back(tr[k].cy);
    }
    flush();
    return bad;
  }

  // Rotation per frame (radians, CCW), by least squares over the unwrapped orientations.
  double spin_rate(const std::vector<Sighting>& tr, Shape shape) const {
    const double period = shape == Shape::kSquare ? kPi / 2 : 2 * kPi / 3;
    std::vector<double> t, a;
    for (const Sighting& s : tr) {
      double ang = moment_angle(shape, s);
      if (!a.empty()) {
        double d = std::remainder(ang - a.back(), period);  // step into (-period/2, period/2]
        ang = a.back() + d;
      }
      t.push_back(s.t), a.push_back(ang);
    }
    return line_fit(t, a).slope;
  }

  const CheckerOptions& opt_;
  int w_, h_, frames_;
  double v_, g_;
};

AttributeCheck attr(std::string name, std::string expected, std::string found,
                    std::string detail = {}) {
  AttributeCheck a{std::move(name),  std::move(expected), std::move(found), false, true,
                   std::move(detail)};
  a.ok = a.expected == a.found;
  return a;
}

}  // namespace

ClipCheck check_video(const Video& video, std::string_view caption, const CheckerOptions& opt) {
  ClipCheck c = check_video(video, parse_caption(caption), opt);
  c.caption = std::string(caption);
  return c;
}

ClipCheck check_video(const Video& video, const SceneSpec& spec, const CheckerOptions& opt) {
  if (const auto bad = world_rule_violation(spec))
    fail("shapes checker: the caption \"", canonical_caption(spec),
         "\" is outside the world: ", *bad);
  CUBIST_CHECK(
      video.frames >= 1 && video.height >= 1 && video.width >= 1 &&
          video.rgb.size() == static_cast<size_t>(video.frames * video.height * video.width * 3),
      "shapes checker: the video is empty or its pixel buffer does not match its size ",
      video.frames, "x", video.height, "x", video.width);
  const int w = static_cast<int>(video.width), h = static_cast<int>(video.height);
  const int frames = static_cast<int>(video.frames);
  const int m = min_side(w, h);
  std::vector<uint8_t> labels = nearest_labels(video, opt.colour_tolerance);

  ClipCheck out;
  out.caption = canonical_caption(spec);

  // Background: the most common class over the whole clip.
  std::array<int64_t, kLabels> hist{};
  for (const uint8_t l : labels) ++hist[l];
  const int bg = static_cast<int>(std::max_element(hist.begin(), hist.end()) - hist.begin());
  labels = unmixed_labels(video, bg, opt.colour_tolerance);
  out.attributes.push_back(
      attr("background", std::string(name(spec.background)), label_name(bg),
           fmt(100.0 * hist[bg] / static_cast<double>(labels.size()), 1) + "% of pixels"));

  // Regions per frame; the largest of each expected colour is that object.
  const double small = side_length(Size::kSmall, w, h);
  const double tri_area = std::sqrt(3.0) / 4.0 * small * small;
  const double min_area = opt.region_fraction * tri_area;
  const double min_core = std::max(1.0, opt.core_fraction * tri_area);
  const auto significant = [&](const Region& r) {
    return r.area >= min_area && r.core >= min_core;
  };
  const size_t n = spec.objects.size();
  std::vector<std::vector<Sighting>> tracks(n);
  std::array<int, kLabels> extra_frames{}, second_frames{};
  const int measured_every = std::max(1, (frames + opt.shape_frames - 1) / opt.shape_frames);
  std::vector<int32_t> id;
  for (int t = 0; t < frames; ++t) {
    const uint8_t* lab = labels.data() + static_cast<size_t>(t) * w * h;
    const std::vector<Region> regions = find_regions(lab, w, h, bg, id);
    std::array<int, kLabels> best;
    best.fill(-1);
    std::array<bool, kLabels> extra{}, second{};
    for (size_t r = 0; r < regions.size(); ++r) {
      if (!significant(regions[r])) continue;
      int& b = best[regions[r].label];
      if (b >= 0) second[regions[r].label] = true;
      if (b < 0 || regions[r].area > regions[b].area) b = static_cast<int>(r);
    }
    for (int l = 0; l < kLabels; ++l) extra[l] = best[l] >= 0;
    for (size_t i = 0; i < n; ++i) {
      const int l = static_cast<int>(spec.objects[i].colour);
      extra[l] = false;
      if (best[l] < 0) continue;
      tracks[i].push_back(measure(regions[best[l]], best[l], id, w, h, t,
                                  t % measured_every == 0 || t == frames - 1));
    }
    for (int l = 0; l < kLabels; ++l) {
      extra_frames[l] += extra[l];
      second_frames[l] += second[l];
    }
  }

  const MotionJudge judge(video, opt);
  for (size_t i = 0; i < n; ++i) {
    const ObjectSpec& o = spec.objects[i];
    const std::string pre = "object " + std::to_string(i + 1) + " ";
    const std::vector<Sighting>& tr = tracks[i];
    const int need = static_cast<int>(std::ceil(opt.presence_fraction * frames - 1e-9));
    const bool present = static_cast<int>(tr.size()) >= std::max(1, need);
    const std::string seen =
        "seen on " + std::to_string(tr.size()) + " of " + std::to_string(frames) + " frames";
    out.attributes.push_back(attr(pre + "colour", std::string(name(o.colour)),
                                  present ? std::string(name(o.colour)) : "missing", seen));
    if (!present) {
      for (const char* what : {"shape", "size", "motion"}) {
        const std::string expected = what[1] == 'h'   ? std::string(name(o.shape))
                                     : what[1] == 'i' ? std::string(name(o.size))
                                                      : std::string(name(o.motion));
        out.attributes.push_back(attr(pre + what, expected, "missing", seen));
      }
      continue;
    }
    // Shape: the template (same area, centroid and moment orientation) with the best mean IoU.
    std::array<double, kNumShapes> iou{};
    int measured = 0;
    for (const Sighting& s : tr)
      if (s.measured) {
        ++measured;
        for (int k = 0; k < kNumShapes; ++k) iou[k] += s.iou[k];
      }
    if (measured == 0) {  // the sampled frames missed the object: measure from what we have
      measured = 1;
      iou.fill(0.0);
    }
    for (double& v : iou) v /= measured;
    const int k_best = static_cast<int>(std::max_element(iou.begin(), iou.end()) - iou.begin());
    const Shape found_shape = static_cast<Shape>(k_best);
    const bool clear = iou[k_best] >= opt.min_shape_iou;
    out.attributes.push_back(attr(
        pre + "shape", std::string(name(o.shape)),
        clear ? std::string(name(found_shape)) : "unclear shape",
        "IoU circle " + fmt(iou[0]) + ", square " + fmt(iou[1]) + ", triangle " + fmt(iou[2])));
    // Size: s from the median area, by the shape seen (the expected one when unclear).
    std::vector<double> areas;
    for (const Sighting& s : tr) areas.push_back(s.area);
    std::nth_element(areas.begin(), areas.begin() + areas.size() / 2, areas.end());
    const double side = template_side(clear ? found_shape : o.shape, areas[areas.size() / 2]);
    out.attributes.push_back(attr(pre + "size", std::string(name(o.size)),
                                  side < opt.size_split * m ? "small" : "large",
                                  "s = " + fmt(side, 1) + " px = " + fmt(side / m) + " m"));
    // Motion.
    if (frames == 1) {
      AttributeCheck a = attr(pre + "motion", std::string(name(o.motion)), "not checkable",
                              "a single frame shows no motion");
      a.ok = true;
      a.checkable = false;
      out.attributes.push_back(a);
    } else {
      const MotionVerdict mv = judge.judge(tr, clear ? found_shape : o.shape);
      out.attributes.push_back(
          attr(pre + "motion", std::string(name(o.motion)), mv.found, mv.detail));
    }
  }

  // Extra objects: significant regions of a colour no object has (on enough frames), or a
  // second region of an object's colour.
  const int extra_need = std::max(1, static_cast<int>(std::ceil(opt.extra_fraction * frames)));
  std::string extras;
  for (int l = 0; l < kLabels; ++l) {
    const auto add = [&](const std::string& what, int count) {
      if (count < extra_need) return;
      extras += (extras.empty() ? "" : ", ") + what + " (" + std::to_string(count) + " frames)";
    };
    const bool expected = std::any_of(spec.objects.begin(), spec.objects.end(),
                                      [&](const ObjectSpec& o) { return int(o.colour) == l; });
    if (expected)
      add("second " + label_name(l) + " region", second_frames[l]);
    else
      add(label_name(l) + " region", extra_frames[l]);
  }
  out.attributes.push_back(attr("extra objects", "none", extras.empty() ? "none" : extras));

  for (const std::vector<Sighting>& tr : tracks) {
    std::vector<TrackPoint>& points = out.tracks.emplace_back();
    for (const Sighting& s : tr) points.push_back({s.t, s.cx, s.cy, s.area});
  }
  out.ok = std::all_of(out.attributes.begin(), out.attributes.end(),
                       [](const AttributeCheck& a) { return a.ok; });
  return out;
}

nlohmann::ordered_json to_json(const ClipCheck& c, bool tracks) {
  nlohmann::ordered_json j;
  j["caption"] = c.caption;
  j["ok"] = c.ok;
  j["attributes"] = nlohmann::ordered_json::array();
  for (const AttributeCheck& a : c.attributes) {
    nlohmann::ordered_json ja;
    ja["name"] = a.name;
    ja["expected"] = a.expected;
    ja["found"] = a.found;
    ja["ok"] = a.ok;
    if (!a.checkable) ja["checkable"] = false;
    if (!a.detail.empty()) ja["detail"] = a.detail;
    j["attributes"].push_back(ja);
  }
  if (!tracks) return j;
  const auto centi = [](double v) { return std::round(v * 100.0) / 100.0; };
  j["tracks"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < c.tracks.size(); ++i) {
    nlohmann::ordered_json jt;
    jt["object"] = i + 1;
    for (const char* key : {"frame", "x", "y", "area"}) jt[key] = nlohmann::ordered_json::array();
    for (const TrackPoint& p : c.tracks[i]) {
      jt["frame"].push_back(p.frame);
      jt["x"].push_back(centi(p.x));
      jt["y"].push_back(centi(p.y));
      jt["area"].push_back(p.area);
    }
    j["tracks"].push_back(jt);
  }
  return j;
}

std::string attribute_kind(const std::string& attribute) {
  if (attribute.rfind("object ", 0) == 0) {
    const size_t sp = attribute.find(' ', 7);
    if (sp != std::string::npos) return attribute.substr(sp + 1);
  }
  return attribute;
}

void ScoreSummary::add(const ClipCheck& c) {
  ++clips;
  clips_ok += c.ok;
  ByObjects& b = by_objects[static_cast<int>(c.tracks.size())];
  ++b.clips;
  b.clips_ok += c.ok;
  for (const AttributeCheck& a : c.attributes) {
    const std::string kind = attribute_kind(a.name);
    if (kind == "colour") b.objects_missing += a.found == "missing";  // one per caption object
    Count& k = attributes[kind];
    if (!a.checkable) {
      ++k.not_checkable;
      continue;
    }
    ++k.checked;
    k.right += a.ok;
  }
}

nlohmann::ordered_json to_json(const ScoreSummary& s) {
  nlohmann::ordered_json j;
  j["clips"] = s.clips;
  j["clips_ok"] = s.clips_ok;
  j["clip_accuracy"] = s.clip_accuracy();
  j["errors"] = s.errors;
  nlohmann::ordered_json a = nlohmann::ordered_json::object();
  for (const auto& [kind, k] : s.attributes) {
    nlohmann::ordered_json e;
    e["accuracy"] = k.checked ? static_cast<double>(k.right) / k.checked : 1.0;
    e["right"] = k.right;
    e["checked"] = k.checked;
    if (k.not_checkable) e["not_checkable"] = k.not_checkable;
    a[kind] = e;
  }
  j["attributes"] = a;
  nlohmann::ordered_json by = nlohmann::ordered_json::object();
  for (const auto& [n, b] : s.by_objects) {
    nlohmann::ordered_json e;
    e["clips"] = b.clips;
    e["clips_ok"] = b.clips_ok;
    e["clip_accuracy"] = b.clips ? static_cast<double>(b.clips_ok) / b.clips : 0.0;
    e["objects"] = b.clips * n;
    e["objects_missing"] = b.objects_missing;
    by[std::to_string(n)] = e;
  }
  j["by_objects"] = by;
  return j;
}

}  // namespace cubist::shapes
