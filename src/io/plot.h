// Line plots as SVG files (no dependencies; any browser shows them): loss curves of training runs.
#pragma once

#include <string>
#include <vector>

namespace cubist {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

// Writes an SVG line chart. log_y plots log10(y) (losses over orders of magnitude).
void write_svg_plot(const std::string& path, const std::string& title, const std::string& x_label,
                    const std::vector<Series>& series, bool log_y = true);

}  // namespace cubist
