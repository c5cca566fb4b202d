#include "cli/args.h"

#include <charconv>
#include <cmath>
#include <optional>

#include "core/strings.h"

namespace cubist::cli {

Args::Args(int argc, char** argv) : Args(std::vector<std::string>(argv, argv + argc)) {}

Args::Args(std::vector<std::string> tokens)
    : tokens_(std::move(tokens)), used_(tokens_.size(), false) {}

int Args::find(const std::string& name) const {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (used_[i]) continue;
    const std::string& t = tokens_[i];
    if (t == name || t.rfind(name + "=", 0) == 0) return static_cast<int>(i);
  }
  return -1;
}

bool Args::has(const std::string& name) const { return find(name) >= 0; }

// An option given twice would otherwise leave its second copy to be read as a prompt or as an
// unknown option; which of the two values was meant is not ours to guess.
void Args::once(const std::string& name) const {
  if (find(name) >= 0) throw UsageError("option " + name + " is given twice; give it once");
}

int Args::claim(const std::string& name) {
  known_.push_back(name);
  const int i = find(name);
  if (i < 0) return -1;
  used_[static_cast<size_t>(i)] = true;
  once(name);
  return i;
}

const std::string* Args::value(const std::string& name) {
  const int i = claim(name);
  if (i < 0) return nullptr;
  const std::string& t = tokens_[static_cast<size_t>(i)];
  if (t.size() > name.size()) {  // --name=value
    tokens_[static_cast<size_t>(i)] = t.substr(name.size() + 1);
    return &tokens_[static_cast<size_t>(i)];
  }
  const size_t v = static_cast<size_t>(i) + 1;
  if (v >= tokens_.size() || used_[v]) throw UsageError("option " + name + " needs a value");
  used_[v] = true;
  return &tokens_[v];
}

std::string Args::str(const std::string& name, const std::string& fallback) {
  const std::string* v = value(name);
  return v ? *v : fallback;
}

std::string Args::path(const std::string& name) {
  const std::string* v = value(name);
  if (v && v->empty()) throw UsageError("option " + name + " takes a path, not an empty one");
  return v ? *v : std::string();
}

std::string Args::required(const std::string& name) {
  const std::string* v = value(name);
  if (!v) throw UsageError("option " + name + " is required");
  return *v;
}

namespace {

// All of `text` as a whole number of type T, or nothing (a sign T cannot hold, a fraction, a
// trailing word, out of range).
template <typename T>
std::optional<T> whole_number(const std::string& text) {
  T out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return out;
}

}  // namespace

int64_t Args::integer(const std::string& name, int64_t fallback) {
  const std::string* v = value(name);
  if (!v) return fallback;
  if (const auto x = whole_number<int64_t>(*v)) return *x;
  throw UsageError("option " + name + " takes a whole number, not '" + *v + "'");
}

uint64_t Args::seed(const std::string& name, uint64_t fallback) {
  const std::string* v = value(name);
  if (!v) return fallback;
  if (const auto x = whole_number<uint64_t>(*v)) return *x;
  throw UsageError("option " + name + " takes a seed, a whole number from 0 to " +
                   std::to_string(UINT64_MAX) + ", not '" + *v + "'");
}

double Args::number(const std::string& name, double fallback) {
  const std::string* v = value(name);
  if (!v) return fallback;
  try {
    size_t used = 0;
    const double d = std::stod(*v, &used);
    if (used == v->size() && std::isfinite(d)) return d;
  } catch (const std::exception&) {
  }
  throw UsageError("option " + name + " takes a finite number, not '" + *v + "'");
}

bool Args::flag(const std::string& name) {
  known_.push_back(name);
  const int i = find(name);
  if (i < 0) return false;
  if (tokens_[static_cast<size_t>(i)] != name)
    throw UsageError("option " + name + " is a switch and takes no value");
  used_[static_cast<size_t>(i)] = true;
  once(name);
  return true;
}

std::vector<std::string> Args::values(const std::string& name, size_t n, const std::string& usage) {
  const int i = claim(name);
  if (i < 0) return {};
  const size_t at = static_cast<size_t>(i);
  std::vector<std::string> out;
  if (tokens_[at].size() > name.size()) out.push_back(tokens_[at].substr(name.size() + 1));
  for (size_t v = at + 1; out.size() < n && v < tokens_.size() && !used_[v] && tokens_[v][0] != '-';
       ++v) {
    used_[v] = true;
    out.push_back(tokens_[v]);
  }
  if (out.size() < n)
    throw UsageError("option " + name + " takes " + std::to_string(n) + " values: " + usage);
  return out;
}

std::vector<std::string> Args::positional() {
  std::vector<std::string> out;
  for (size_t i = 0; i < tokens_.size(); ++i)
    if (!used_[i] && tokens_[i].rfind("--", 0) != 0) {
      used_[i] = true;
      out.push_back(tokens_[i]);
    }
  return out;
}

void Args::finish() {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (used_[i]) continue;
    const std::string accepted = join(known_, ", ");
    if (tokens_[i].rfind("--", 0) == 0)
      throw UsageError(
          "unknown option " + tokens_[i] +
          (accepted.empty() ? "; this command takes no options" : "; accepted: " + accepted));
    throw UsageError("unexpected argument '" + tokens_[i] + "'");
  }
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(sep, start);
    out.push_back(text.substr(start, at - start));
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return out;
}

std::vector<std::string> split_arguments(const std::string& line) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  char quote = 0;  // ' or " while inside quotes
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote == '\'') {
      if (c == '\'')
        quote = 0;
      else
        word += c;
    } else if (quote == '"') {
      if (c == '"')
        quote = 0;
      else if (c == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\'))
        word += line[++i];
      else
        word += c;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (in_word) out.push_back(word), word.clear(), in_word = false;
    } else {
      in_word = true;
      if (c == '\'' || c == '"')
        quote = c;
      else if (c == '\\' && i + 1 < line.size())
        word += line[++i];
      else
        word += c;
    }
  }
  if (quote) throw UsageError(std::string("a ") + quote + " is not closed");
  if (in_word) out.push_back(word);
  return out;
}

std::pair<int64_t, int64_t> parse_size(const std::string& option, const std::string& text) {
  const std::vector<std::string> p = split(text, 'x');
  int64_t w = 0, h = 0;
  auto num = [](const std::string& s, int64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size() && out > 0;
  };
  if (p.size() != 2 || !num(p[0], w) || !num(p[1], h))
    throw UsageError("option " + option + " takes WIDTHxHEIGHT (for example 96x64), not '" + text +
                     "'");
  return {w, h};
}

}  // namespace cubist::cli
