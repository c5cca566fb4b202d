// Reading one optional field of a JSON config: configs list every problem at once, so a wrong
// type is recorded in `problems` rather than thrown.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cubist {

// Sets `out` from j[key] when present; a value of the wrong type adds a line to `problems`.
template <typename T>
void read_json_field(const nlohmann::json& j, const char* key, T& out,
                     std::vector<std::string>& problems) {
  if (!j.contains(key)) return;
  try {
    out = j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    problems.push_back(std::string("\"") + key + "\" has the wrong type (" + j.at(key).dump() +
                       ")");
  }
}

}  // namespace cubist
