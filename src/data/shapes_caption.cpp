// Shapes World captions: canonical grammar, parser, short prompts, descriptions.
#include "data/shapes_caption.h"

#include <array>
#include <cctype>
#include <vector>

#include "core/error.h"
#include "core/strings.h"

namespace cubist::shapes {
namespace {

// "A", "A and B", "A, B and C".
std::string join_and(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += i + 1 == parts.size() ? " and " : ", ";
    out += parts[i];
  }
  return out;
}

// ---- parser ----

struct Token {
  std::string text;
  int word;  // position of the word in the caption, from 1
};

std::vector<Token> tokenize(std::string_view caption) {
  std::vector<Token> tokens;
  int word = 0;
  size_t i = 0;
  while (i <= caption.size()) {
    const size_t end = std::min(caption.find(' ', i), caption.size());
    std::string w(caption.substr(i, end - i));
    ++word;
    // A comma belongs to the grammar, not to the word before it ("left, a ...").
    if (w.size() > 1 && w.back() == ',') {
      tokens.push_back({w.substr(0, w.size() - 1), word});
      tokens.push_back({",", word});
    } else {
      tokens.push_back({w, word});
    }
    i = end + 1;
  }
  return tokens;
}

template <typename E, int N>
std::string choices(std::string_view (*namer)(E)) {
  std::string out;
  for (int i = 0; i < N; ++i) out += (i ? ", " : "") + std::string(namer(static_cast<E>(i)));
  return out;
}

class Parser {
 public:
  explicit Parser(std::string_view caption) : caption_(caption), tokens_(tokenize(caption)) {}

  SceneSpec parse() {
    CUBIST_CHECK(!caption_.empty(), "caption: the caption is empty; expected for example \"",
                 kExample, "\"");
    SceneSpec spec;
    spec.objects.push_back(object());
    const std::string sep = expect_one_of({"on", "and", ","}, "\"on\", \"and\" or \",\"");
    if (sep == "and") {
      spec.objects.push_back(object());
      expect("on");
    } else if (sep == ",") {
      spec.objects.push_back(object());
      expect_one_of({"and"}, "\"and\" (three objects are written \"A, B and C\")");
      spec.objects.push_back(object());
      expect("on");
    }
    expect("a");
    spec.background = word_of<Background, kNumBackgrounds>(background_named, name, "background");
    expect("background");
    if (pos_ < tokens_.size())
      wrong(tokens_[pos_], "the end of the caption (nothing comes after \"background\")");
    return spec;
  }

 private:
  static constexpr const char* kExample =
      "a large red circle bouncing and a small cyan square moving left on a navy background";

  ObjectSpec object() {
    ObjectSpec o;
    expect("a");
    o.size = word_of<Size, kNumSizes>(size_named, name, "size");
    o.colour = word_of<Colour, kNumColours>(colour_named, name, "colour");
    o.shape = word_of<Shape, kNumShapes>(shape_named, name, "shape");
    o.motion = motion();
    return o;
  }

  Motion motion() {
    const std::string accepted = "a motion (" + choices<Motion, kNumMotions>(name) + ")";
    const Token& t = next(accepted);
    std::string words = t.text;
    if (t.text == "moving" || t.text == "standing") {
      const Token& u =
          next(t.text == "moving" ? "a direction (left, right, up, down)" : "\"still\"");
      words += " " + u.text;
      if (!motion_named(words))
        wrong(u, t.text == "moving" ? "a direction after \"moving\" (left, right, up, down)"
                                    : "\"still\" after \"standing\"");
    }
    const auto m = motion_named(words);
    if (!m) wrong(t, accepted);
    return *m;
  }

  template <typename E, int N>
  E word_of(std::optional<E> (*lookup)(std::string_view), std::string_view (*namer)(E),
            const char* what) {
    const std::string accepted = std::string("a ") + what + " (" + choices<E, N>(namer) + ")";
    const Token& t = next(accepted);
    const auto v = lookup(t.text);
    if (!v) wrong(t, accepted);
    return *v;
  }

  void expect(const std::string& word) { expect_one_of({word}, "\"" + word + "\""); }

  std::string expect_one_of(const std::vector<std::string>& words, const std::string& accepted) {
    const Token& t = next(accepted);
    for (const std::string& w : words)
      if (t.text == w) return w;
    wrong(t, accepted);
  }

  const Token& next(const std::string& accepted) {
    if (pos_ >= tokens_.size())
      fail("caption \"", caption_, "\": it ends too early; expected ", accepted, " after word ",
           tokens_.empty() ? 0 : tokens_.back().word, " (a full caption reads \"", kExample, "\")");
    return tokens_[pos_++];
  }

  [[noreturn]] void wrong(const Token& t, const std::string& accepted) const {
    std::string hint;
    const std::string lower = ascii_lower(t.text);
    if (t.text.empty())
      hint = " (two spaces in a row, or a space at the start or end)";
    else if (lower != t.text)
      hint = " (caption words are lower case)";
    else if (t.text.back() == '.')
      hint = " (the caption has no final full stop)";
    fail("caption \"", caption_, "\": word ", t.word, " \"", t.text, "\" is wrong; expected ",
         accepted, hint);
  }

  std::string_view caption_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

// ---- descriptions ----

// Synonyms, each list indexed by variant bits: present-tense verb phrase and participle phrase.
constexpr std::array<std::array<const char*, 4>, kNumMotions> kVerbs = {{
    {"moves to the left", "slides to the left", "drifts left", "glides leftwards"},
    {"moves to the right", "slides to the right", "drifts right", "glides rightwards"},
    {"moves up", "rises steadily", "drifts upwards", "glides up"},
    {"moves down", "sinks steadily", "drifts downwards", "glides down"},
    {"bounces", "bounces up and down", "bounces off the bottom edge", "hops up and down"},
    {"spins", "spins in place", "rotates counter-clockwise", "turns in place"},
    {"stands still", "stays still", "does not move", "rests in place"},
}};
constexpr std::array<std::array<const char*, 4>, kNumMotions> kParticiples = {{
    {"moving to the left", "sliding to the left", "drifting left", "gliding leftwards"},
    {"moving to the right", "sliding to the right", "drifting right", "gliding rightwards"},
    {"moving up", "rising steadily", "drifting upwards", "gliding up"},
    {"moving down", "sinking steadily", "drifting downwards", "gliding down"},
    {"bouncing", "bouncing up and down", "bouncing off the bottom edge", "hopping up and down"},
    {"spinning", "spinning in place", "rotating counter-clockwise", "turning in place"},
    {"standing still", "staying still", "not moving", "resting in place"},
}};
constexpr std::array<std::array<const char*, 2>, kNumSizes> kSizeWords = {
    {{"small", "little"}, {"large", "big"}}};
constexpr std::array<const char*, 4> kCounts = {"", "One shape", "Two shapes", "Three shapes"};

std::string capitalise(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

std::string canonical_caption(const SceneSpec& spec) {
  std::vector<std::string> parts;
  for (const ObjectSpec& o : spec.objects)
    parts.push_back("a " + std::string(name(o.size)) + " " + std::string(name(o.colour)) + " " +
                    std::string(name(o.shape)) + " " + std::string(name(o.motion)));
  return join_and(parts) + " on a " + std::string(name(spec.background)) + " background";
}

SceneSpec parse_caption(std::string_view caption) { return Parser(caption).parse(); }

std::string short_prompt(const SceneSpec& spec) {
  std::vector<std::string> parts;
  for (const ObjectSpec& o : spec.objects)
    parts.push_back((o.colour == Colour::kOrange ? "an " : "a ") + std::string(name(o.colour)) +
                    " " + std::string(name(o.shape)) + " " + std::string(name(o.motion)));
  return join_and(parts);
}

std::string describe(const SceneSpec& spec, int template_index, uint64_t variant) {
  // Each object takes 3 bits of the variant: 1 for the size word, 2 for the motion phrase.
  std::vector<std::string> nouns, verbs, participles, clauses;
  for (const ObjectSpec& o : spec.objects) {
    const auto size_word = kSizeWords[static_cast<size_t>(o.size)][variant & 1];
    const size_t phrase = (variant >> 1) & 3;
    variant >>= 3;
    const std::string noun = std::string("a ") + size_word + " " + std::string(name(o.colour)) +
                             " " + std::string(name(o.shape));
    nouns.push_back(noun);
    verbs.push_back(noun + " " + kVerbs[static_cast<size_t>(o.motion)][phrase]);
    participles.push_back(noun + " " + kParticiples[static_cast<size_t>(o.motion)][phrase]);
    clauses.push_back(noun + " that " + kVerbs[static_cast<size_t>(o.motion)][phrase]);
  }
  const std::string bg(name(spec.background));
  switch (((template_index % kDescriptionTemplates) + kDescriptionTemplates) %
          kDescriptionTemplates) {
    case 0: {  // On a navy background, A bounces while B slides to the left.
      std::string s = "On a " + bg + " background, " + verbs[0];
      if (verbs.size() == 2) s += " while " + verbs[1];
      if (verbs.size() == 3) s += " and " + verbs[1] + " while " + verbs[2];
      return s + ".";
    }
    case 1:  // A bounces and B moves to the left, against a navy background.
      return capitalise(join_and(verbs)) + ", against a " + bg + " background.";
    case 2:  // A navy background with A bouncing and B sliding to the left.
      return "A " + bg + " background with " + join_and(participles) + ".";
    case 3: {  // Against a navy backdrop: A bounces. B moves to the left.
      std::string s = "Against a " + bg + " backdrop:";
      for (const std::string& v : verbs) s += " " + capitalise(v) + ".";
      return s;
    }
    default:  // Two shapes on a navy background: A that bounces and B that moves to the left.
      return std::string(kCounts[std::min<size_t>(clauses.size(), 3)]) + " on a " + bg +
             " background: " + join_and(clauses) + ".";
  }
}

std::string describe(const SceneSpec& spec, Generator& gen) {
  const int t = static_cast<int>(gen.randint(kDescriptionTemplates));
  return describe(spec, t, gen.next_u64());
}

}  // namespace cubist::shapes
