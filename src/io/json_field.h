// Reading one optional field of a JSON config: configs list every problem at once, so a wrong
// type is recorded in `problems` rather than thrown.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

namespace cubist {

// What a field of type T accepts, in the words of a config's error messages. A new field type
// must be named here (the static_assert), so no message falls back to a vague word.
template <typename T>
inline constexpr bool kNamedJsonKind = false;
template <typename T>
const char* json_kind() {
  if constexpr (std::is_same_v<T, bool>)
    return "true or false";
  else if constexpr (std::is_integral_v<T>)
    return "a whole number";
  else if constexpr (std::is_floating_point_v<T>)
    return "a number";
  else if constexpr (std::is_same_v<T, std::string>)
    return "a string";
  else if constexpr (std::is_same_v<T, std::vector<std::string>>)
    return "a list of strings";
  else if constexpr (std::is_same_v<T, std::vector<int64_t>>)
    return "a list of whole numbers";
  else
    static_assert(kNamedJsonKind<T>, "json_kind: name what a field of this type accepts");
}

// Sets `out` from j[key] when present; a value of the wrong type adds a line to `problems`
// naming what the field accepts.
template <typename T>
void read_json_field(const nlohmann::json& j, const char* key, T& out,
                     std::vector<std::string>& problems) {
  if (!j.contains(key)) return;
  try {
    out = j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    problems.push_back(std::string("\"") + key + "\" has the wrong type (" + j.at(key).dump() +
                       "); expected " + json_kind<T>());
  }
}

}  // namespace cubist
