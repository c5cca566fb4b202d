#include "train/metrics_log.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace cubist {

namespace {
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  return out;
}
}  // namespace

MetricsLog::MetricsLog(const std::string& path, std::vector<std::string> columns, int64_t from_step)
    : columns_(std::move(columns)) {
  std::string header;
  for (const std::string& c : columns_) header += (header.empty() ? "" : ",") + c;
  std::vector<std::string> kept;
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    CUBIST_CHECK(line == header, path, ": the log's columns (", line, ") differ from this run's (",
                 header, "); move the old log away or use another output folder");
    while (std::getline(in, line)) {
      const auto cells = split_csv(line);
      if (!cells.empty() && std::stoll(cells[0]) < from_step) kept.push_back(line);
    }
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
  std::ifstream in(path);
  CUBIST_CHECK(in, "metrics log: cannot read ", path);
  std::string line;
  std::getline(in, line);
  const auto header = split_csv(line);
  const auto it = std::find(header.begin(), header.end(), name);
  CUBIST_CHECK(it != header.end(), path, ": no column '", name, "'");
  const size_t col = static_cast<size_t>(it - header.begin());
  std::vector<double> out;
  while (std::getline(in, line)) {
    const auto cells = split_csv(line);
    if (col < cells.size()) out.push_back(std::stod(cells[col]));
  }
  return out;
}

}  // namespace cubist
