#include "io/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/error.h"

namespace cubist {

namespace {
constexpr double kW = 720, kH = 420, kLeft = 70, kRight = 20, kTop = 40, kBottom = 50;
const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"};

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}
}  // namespace

void write_svg_plot(const std::string& path, const std::string& title, const std::string& x_label,
                    const std::vector<Series>& series, bool log_y) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  auto ty = [&](double y) { return log_y ? std::log10(std::max(y, 1e-12)) : y; };
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
    }
  if (!(x1 > x0)) x1 = x0 + 1;
  if (!(y1 > y0)) y1 = y0 + 1;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * (kW - kLeft - kRight); };
  auto py = [&](double y) { return kTop + (y1 - ty(y)) / (y1 - y0) * (kH - kTop - kBottom); };

  std::ofstream f(path);
  CUBIST_CHECK(f, "plot: cannot write ", path);
  f << "<svg xmlns='http://www.w3.org/2000/svg' width='" << kW << "' height='" << kH
    << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' "
       "fill='white'/>\n"
    << "<text x='" << kW / 2 << "' y='22' text-anchor='middle' font-size='15'>" << title
    << "</text>\n<text x='" << kW / 2 << "' y='" << kH - 10 << "' text-anchor='middle'>" << x_label
    << "</text>\n";
  for (int k = 0; k <= 4; ++k) {  // horizontal grid with value labels
    const double yv = y0 + (y1 - y0) * k / 4,
                 yp = kTop + (y1 - yv) / (y1 - y0) * (kH - kTop - kBottom);
    f << "<line x1='" << kLeft << "' x2='" << kW - kRight << "' y1='" << yp << "' y2='" << yp
      << "' stroke='#ddd'/><text x='" << kLeft - 6 << "' y='" << yp + 4 << "' text-anchor='end'>"
      << fmt(log_y ? std::pow(10.0, yv) : yv) << "</text>\n";
  }
  for (int k = 0; k <= 4; ++k) {
    const double xv = x0 + (x1 - x0) * k / 4;
    f << "<text x='" << px(xv) << "' y='" << kH - kBottom + 16 << "' text-anchor='middle'>"
      << fmt(xv) << "</text>\n";
  }
  for (size_t s = 0; s < series.size(); ++s) {
    f << "<polyline fill='none' stroke-width='1.5' stroke='" << kColours[s % 5] << "' points='";
    for (size_t i = 0; i < series[s].x.size(); ++i)
      if (std::isfinite(series[s].y[i]))
        f << px(series[s].x[i]) << "," << py(series[s].y[i]) << " ";
    f << "'/>\n<text x='" << kW - kRight - 6 << "' y='" << kTop + 16 * (s + 1)
      << "' text-anchor='end' fill='" << kColours[s % 5] << "'>" << series[s].name << "</text>\n";
  }
  f << "</svg>\n";
}

}  // namespace cubist
