#include "train/metrics_log.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"

namespace cubist {

namespace {
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  return out;
}

// The numbers of one row, or nothing when the row is not `columns` numbers.
std::optional<std::vector<double>> parse_row(const std::string& line, size_t columns) {
  const std::vector<std::string> cells = split_csv(line);
  if (cells.size() != columns) return std::nullopt;
  std::vector<double> values;
  for (const std::string& c : cells) {
    double v = 0;
    const auto [end, ec] = std::from_chars(c.data(), c.data() + c.size(), v);
    if (ec != std::errc() || end != c.data() + c.size()) return std::nullopt;
    values.push_back(v);
  }
  return values;
}

struct Row {
  std::string text;
  std::vector<double> values;
};

// The header and rows of a log. A last row that does not parse is a write that a kill cut
// short, and is left out; any other is refused, naming the line, so that a log a person edited
// is never silently shortened.
std::pair<std::string, std::vector<Row>> read_rows(const std::string& path) {
  std::ifstream in(path);
  CUBIST_CHECK(in, "metrics log: cannot read ", path);
  std::string header, line;
  std::getline(in, header);
  const size_t columns = split_csv(header).size();
  std::vector<Row> rows;
  std::optional<std::pair<size_t, std::string>> bad;  // a row that did not parse: its line
  for (size_t number = 2; std::getline(in, line); ++number) {
    CUBIST_CHECK(!bad, path, ": line ", bad->first, " (", bad->second, ") is not ", columns,
                 " numbers as the header (", header, ") says; correct or delete that line");
    if (auto values = parse_row(line, columns))
      rows.push_back({line, std::move(*values)});
    else
      bad = {number, line};
  }
  return {header, rows};
}
}  // namespace

MetricsLog::MetricsLog(const std::string& path, std::vector<std::string> columns, int64_t from_step)
    : columns_(std::move(columns)) {
  const std::string header = join(columns_, ",");
  std::vector<std::string> kept;
  if (std::filesystem::exists(path)) {
    const auto [was, rows] = read_rows(path);
    CUBIST_CHECK(was == header, path, ": the log's columns (", was, ") differ from this run's (",
                 header, "); move the old log away or use another output folder");
    for (const Row& r : rows)
      if (r.values[0] < static_cast<double>(from_step)) kept.push_back(r.text);
  }
  f_ = std::fopen(path.c_str(), "w");
  CUBIST_CHECK(f_, "metrics log: cannot write ", path, ": ", std::strerror(errno));
  std::fprintf(f_, "%s\n", header.c_str());
  for (const std::string& l : kept) std::fprintf(f_, "%s\n", l.c_str());
  std::fflush(f_);
}

MetricsLog::~MetricsLog() {
  if (f_) std::fclose(f_);
}

void MetricsLog::write(const std::vector<double>& values) {
  CUBIST_CHECK(values.size() == columns_.size(), "metrics log: ", values.size(), " values for ",
               columns_.size(), " columns");
  for (size_t i = 0; i < values.size(); ++i) std::fprintf(f_, i ? ",%.6g" : "%.6g", values[i]);
  std::fprintf(f_, "\n");
  std::fflush(f_);
}

std::vector<double> MetricsLog::read_column(const std::string& path, const std::string& name) {
  const auto [header, rows] = read_rows(path);
  const std::vector<std::string> names = split_csv(header);
  const auto it = std::find(names.begin(), names.end(), name);
  CUBIST_CHECK(it != names.end(), path, ": no column '", name, "'");
  const size_t col = static_cast<size_t>(it - names.begin());
  std::vector<double> out;
  for (const Row& r : rows) out.push_back(r.values[col]);
  return out;
}

}  // namespace cubist
