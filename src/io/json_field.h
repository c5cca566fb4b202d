// Reading one optional field of a JSON config: configs list every problem at once, so a wrong
// type is recorded in `problems` rather than thrown.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

namespace cubist {

// Adds one problem naming every key of j that `keys` does not list, with the keys accepted once
// (`section` prefixes the names: "train."): a config's typos in one message.
inline void check_known_keys(const nlohmann::json& j, const std::vector<std::string>& keys,
                             const std::string& section, std::vector<std::string>& problems) {
  std::string unknown;
  int count = 0;
  for (const auto& [key, value] : j.items())
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      unknown += std::string(count++ ? ", " : "") + "\"" + section + key + "\"";
  if (count == 0) return;
  std::string accepted;
  for (const std::string& k : keys) accepted += (accepted.empty() ? "" : ", ") + k;
  problems.push_back(std::string("unknown key") + (count > 1 ? "s " : " ") + unknown +
                     " (accepted: " + accepted + ")");
}

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
  else if constexpr (std::is_same_v<T, std::vector<float>> ||
                     std::is_same_v<T, std::vector<double>>)
    return "a list of numbers";
  else
    static_assert(kNamedJsonKind<T>, "json_kind: name what a field of this type accepts");
}

// Whether v is a whole number that T holds: 3 and 3.0 are, 2.5 and 1e30 (for an int) are not.
// nlohmann's get<int> would silently truncate 2.5 to 2 and take true as 1.
template <typename T>
bool json_is_whole(const nlohmann::json& v) {
  if (v.is_number_unsigned())
    return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    return x >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
           (x < 0 ||
            static_cast<uint64_t>(x) <= static_cast<uint64_t>(std::numeric_limits<T>::max()));
  }
  if (!v.is_number_float()) return false;
  const double x = v.get<double>();
  return std::isfinite(x) && x == std::floor(x) &&
         x >= static_cast<double>(std::numeric_limits<T>::min()) &&
         x < std::ldexp(1.0, std::numeric_limits<T>::digits);  // T's max + 1, exactly
}

// A whole number v of type T (json_is_whole<T>(v)), written as an integer or as a float (1e4).
template <typename T>
T json_whole(const nlohmann::json& v) {
  return v.is_number_float() ? static_cast<T>(v.get<double>()) : v.get<T>();
}

// Whether v is a value of the kind json_kind<T>() names, with nothing lost in reading it.
template <typename T>
bool json_holds(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, bool>)
    return v.is_boolean();
  else if constexpr (std::is_integral_v<T>)
    return json_is_whole<T>(v);
  else if constexpr (std::is_floating_point_v<T>)
    return v.is_number();
  else if constexpr (std::is_same_v<T, std::string>)
    return v.is_string();
  else {
    if (!v.is_array()) return false;
    for (const nlohmann::json& e : v)
      if (!json_holds<typename T::value_type>(e)) return false;
    return true;
  }
}

// Sets `out` from j[key] when present; a value of the wrong type, or a number the field cannot
// hold exactly (2.5 for a whole number), adds a line to `problems` naming what the field accepts
// and leaves `out` as it was.
template <typename T>
void read_json_field(const nlohmann::json& j, const char* key, T& out,
                     std::vector<std::string>& problems) {
  if (!j.contains(key)) return;
  const nlohmann::json& v = j.at(key);
  if (json_holds<T>(v)) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
      out = json_whole<T>(v);
    else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
      T read;
      for (const nlohmann::json& e : v) read.push_back(json_whole<int64_t>(e));
      out = std::move(read);
    } else
      out = v.get<T>();
    return;
  }
  problems.push_back(std::string("\"") + key + "\" has the wrong type (" + v.dump() +
                     "); expected " + json_kind<T>());
}

}  // namespace cubist
