// Prompt expansion: a forgiving word scanner that collects objects and a background, then draws
// every missing fact from the world's distribution.
#include "models/text/prompt_expansion.h"

#include <algorithm>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/rng.h"
#include "core/strings.h"
#include "data/shapes_caption.h"
#include "models/text/tokenizer.h"

namespace cubist::text {
namespace {

using namespace shapes;

const std::map<std::string, Shape, std::less<>> kShapeWords = {
    {"circle", Shape::kCircle},    {"ball", Shape::kCircle},  {"dot", Shape::kCircle},
    {"disc", Shape::kCircle},      {"disk", Shape::kCircle},  {"square", Shape::kSquare},
    {"box", Shape::kSquare},       {"block", Shape::kSquare}, {"cube", Shape::kSquare},
    {"triangle", Shape::kTriangle}};
const std::map<std::string, Size, std::less<>> kSizeWords = {
    {"small", Size::kSmall}, {"little", Size::kSmall}, {"tiny", Size::kSmall},
    {"large", Size::kLarge}, {"big", Size::kLarge},    {"huge", Size::kLarge}};
const std::map<std::string, Motion, std::less<>> kMotionWords = {{"left", Motion::kLeft},
                                                                 {"leftwards", Motion::kLeft},
                                                                 {"right", Motion::kRight},
                                                                 {"rightwards", Motion::kRight},
                                                                 {"up", Motion::kUp},
                                                                 {"upwards", Motion::kUp},
                                                                 {"rising", Motion::kUp},
                                                                 {"rises", Motion::kUp},
                                                                 {"down", Motion::kDown},
                                                                 {"downwards", Motion::kDown},
                                                                 {"sinking", Motion::kDown},
                                                                 {"sinks", Motion::kDown},
                                                                 {"falling", Motion::kDown},
                                                                 {"falls", Motion::kDown},
                                                                 {"bouncing", Motion::kBouncing},
                                                                 {"bounces", Motion::kBouncing},
                                                                 {"bounce", Motion::kBouncing},
                                                                 {"hopping", Motion::kBouncing},
                                                                 {"hops", Motion::kBouncing},
                                                                 {"spinning", Motion::kSpinning},
                                                                 {"spins", Motion::kSpinning},
                                                                 {"spin", Motion::kSpinning},
                                                                 {"rotating", Motion::kSpinning},
                                                                 {"rotates", Motion::kSpinning},
                                                                 {"turning", Motion::kSpinning},
                                                                 {"turns", Motion::kSpinning},
                                                                 {"still", Motion::kStill},
                                                                 {"resting", Motion::kStill},
                                                                 {"rests", Motion::kStill},
                                                                 {"stationary", Motion::kStill},
                                                                 {"static", Motion::kStill},
                                                                 {"motionless", Motion::kStill}};
// "moving" without a direction: one of the four directions is drawn.
const std::vector<std::string> kMoveWords = {
    "moving",  "moves",  "move",  "sliding", "slides",     "drifting", "drifts",
    "gliding", "glides", "going", "goes",    "travelling", "traveling"};
const std::vector<std::string> kSeparators = {"and", "while", "with", "plus"};
const std::vector<std::string> kFillers = {"a",
                                           "an",
                                           "the",
                                           "one",
                                           "is",
                                           "are",
                                           "on",
                                           "in",
                                           "of",
                                           "to",
                                           "that",
                                           "which",
                                           "it",
                                           "its",
                                           "shape",
                                           "object",
                                           "background",
                                           "backdrop",
                                           "against",
                                           "place",
                                           "off",
                                           "bottom",
                                           "edge",
                                           "steadily",
                                           "standing",
                                           "stands",
                                           "staying",
                                           "stays",
                                           "counter-clockwise",
                                           "video",
                                           "clip",
                                           "coloured",
                                           "colored",
                                           "there",
                                           "over",
                                           "across",
                                           "screen",
                                           "frame",
                                           "along"};

struct Partial {
  std::optional<Colour> colour;
  std::optional<Shape> shape;
  std::optional<Size> size;
  std::optional<Motion> motion;
  bool moving = false;  // "moving" was said without a direction
  bool any() const { return colour || shape || size || motion || moving; }
};

bool contains(const std::vector<std::string>& list, std::string_view w) {
  return std::find(list.begin(), list.end(), w) != list.end();
}

int draw(Generator& gen, int n) { return static_cast<int>(gen.randint(static_cast<uint64_t>(n))); }

// One of the values 0 .. n-1 of enum E, drawn uniformly from those `allowed` lets through and
// whose name the model can read (every word `known`; no filter: all). When no such value is
// left, from those allowed: the tokenizer then names the word the model lacks. With every word
// known this is the same draw as draw() over the allowed values, so a seed keeps its expansion.
template <typename E, typename Allowed>
E draw_sayable(Generator& gen, int n, const WordFilter& known, Allowed allowed) {
  std::vector<E> all, sayable;
  for (int i = 0; i < n; ++i) {
    const E v = static_cast<E>(i);
    if (!allowed(v)) continue;
    all.push_back(v);
    const std::vector<std::string> words = split_words(name(v));
    if (!known || std::all_of(words.begin(), words.end(), known)) sayable.push_back(v);
  }
  const std::vector<E>& from = sayable.empty() ? all : sayable;
  return from[static_cast<size_t>(draw(gen, static_cast<int>(from.size())))];
}

// The names of enum E's n values, in order: what a message lists as accepted.
template <typename E>
std::vector<std::string> names_of(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.emplace_back(name(static_cast<E>(i)));
  return names;
}

std::string colour_names() { return join(names_of<Colour>(kNumColours), ", "); }
std::string background_names() { return join(names_of<Background>(kNumBackgrounds), ", "); }

[[noreturn]] void unknown(std::string_view prompt, const std::vector<std::string>& bad) {
  const std::string list = "\"" + join(bad, "\", \"") + "\"", accepted = join(prompt_words(), ", ");
  fail("prompt: unknown word", bad.size() > 1 ? "s " : " ", list, " in ", quoted_excerpt(prompt),
       ". Shapes World prompts name up to 3 objects by colour, shape, size and motion, and a "
       "background; the words accepted are: ",
       accepted);
}

// Reads the prompt into objects (facts possibly missing) and maybe a background.
std::vector<Partial> scan(std::string_view prompt, std::optional<Background>& background) {
  const std::vector<std::string> w = split_words(prompt);
  std::vector<Partial> objects(1);
  std::vector<std::string> bad;
  bool closed = false;  // a separator was read: the next fact starts a new object
  auto current = [&](bool repeat) -> Partial& {
    if ((closed || repeat) && objects.back().any()) objects.emplace_back();
    closed = false;
    return objects.back();
  };
  for (size_t i = 0; i < w.size(); ++i) {
    const std::string& word = w[i];
    const std::string canon = word == "grey" ? "gray" : word;
    const std::string next = i + 1 < w.size() ? w[i + 1] : "";
    const auto colour = colour_named(canon);
    const auto backdrop = background_named(canon);
    if ((colour || backdrop) && (next == "background" || next == "backdrop")) {
      // "on a blue background" names the background, not an object: only its colours do.
      if (!backdrop)
        fail("prompt: ", quoted_excerpt(prompt), ": ", word,
             " is not a background colour; backgrounds are ", background_names(), " (objects are ",
             colour_names(), ")");
      background = backdrop;
    } else if (colour) {
      current(objects.back().colour.has_value()).colour = colour;
    } else if (backdrop) {
      // "a gray ball" names an object, in a colour objects do not have.
      if (kShapeWords.count(next) || kSizeWords.count(next))
        fail("prompt: ", quoted_excerpt(prompt), ": ", word,
             " is a background colour; objects are ", colour_names(), " (backgrounds are ",
             background_names(), ")");
      background = backdrop;
    } else if (auto s = kShapeWords.find(word); s != kShapeWords.end()) {
      current(objects.back().shape.has_value()).shape = s->second;
    } else if (auto z = kSizeWords.find(word); z != kSizeWords.end()) {
      current(objects.back().size.has_value()).size = z->second;
    } else if (word == "up" && i + 2 < w.size() && w[i + 1] == "and" && w[i + 2] == "down") {
      i += 2;  // "bouncing up and down"
      Partial& o = current(false);
      if (!o.motion) o.motion = Motion::kBouncing;
    } else if (word == "not" && i + 1 < w.size() && contains(kMoveWords, w[i + 1])) {
      ++i;  // "not moving"
      current(objects.back().motion.has_value()).motion = Motion::kStill;
    } else if (word == "not") {
      fail("prompt: ", quoted_excerpt(prompt), ": \"not\" is read only in \"not moving\" (an ",
           "object standing still); name the motion an object has (",
           join(names_of<Motion>(kNumMotions), ", "), ")");
    } else if (auto m = kMotionWords.find(word); m != kMotionWords.end()) {
      // "in the bottom left", "on the left": a place, which captions do not give (objects start
      // where the seed puts them), not a motion ("moving to the left").
      const std::string before = i > 0 ? w[i - 1] : "", further = i > 1 ? w[i - 2] : "";
      if (before == "bottom" || (before == "the" && (further == "on" || further == "in")))
        fail("prompt: ", quoted_excerpt(prompt), ": \"", before, " ", word,
             "\" reads as a place, which Shapes World captions do not give (objects start where "
             "the seed puts them); name a motion instead (\"moving ",
             word, "\")");
      Partial& o = objects.back();
      // A direction completes "moving"; "spinning in place" after "spinning" says nothing new.
      if (o.motion && *o.motion == m->second && !closed) continue;
      current(o.motion.has_value()).motion = m->second;
    } else if (contains(kMoveWords, word)) {
      Partial& o = current(false);
      if (!o.motion) o.moving = true;
    } else if (contains(kSeparators, word)) {
      closed = true;
    } else if (!contains(kFillers, word)) {
      if (!contains(bad, word)) bad.push_back(word);
    }
  }
  if (!bad.empty()) unknown(prompt, bad);
  if (!objects.back().any()) objects.pop_back();
  return objects;
}

}  // namespace

std::vector<std::string> prompt_words() {
  std::vector<std::string> out;
  for (const auto& names : {names_of<Colour>(kNumColours), names_of<Background>(kNumBackgrounds)})
    out.insert(out.end(), names.begin(), names.end());
  out.emplace_back("grey");
  for (const auto* m : {&kShapeWords})
    for (const auto& [k, v] : *m) out.push_back(k);
  for (const auto& [k, v] : kSizeWords) out.push_back(k);
  for (const auto& [k, v] : kMotionWords) out.push_back(k);
  for (const auto* l : {&kMoveWords, &kSeparators, &kFillers})
    out.insert(out.end(), l->begin(), l->end());
  out.emplace_back("not");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

ExpandedPrompt expand_prompt(std::string_view prompt, uint64_t seed, const WordFilter& known) {
  CUBIST_CHECK(!split_words(prompt).empty(),
               "prompt: the prompt is empty; give one like \"a red ball bouncing\" or \"a blue "
               "square moving left on a navy background\"");
  std::optional<Background> background;
  std::vector<Partial> objects = scan(prompt, background);
  CUBIST_CHECK(objects.size() <= static_cast<size_t>(kMaxObjects),
               "prompt: ", quoted_excerpt(prompt), " names ", objects.size(),
               " objects; Shapes World clips have 1 to ", kMaxObjects);
  for (size_t i = 0; i < objects.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      CUBIST_CHECK(!objects[i].colour || objects[i].colour != objects[j].colour,
                   "prompt: ", quoted_excerpt(prompt), " gives two objects the colour ",
                   name(*objects[i].colour), "; every object in a clip has its own colour");
  for (const Partial& o : objects)
    CUBIST_CHECK(!(o.motion == Motion::kSpinning && o.shape == Shape::kCircle),
                 "prompt: ", quoted_excerpt(prompt),
                 " asks for a spinning circle; only squares and triangles spin");

  // Draws in a fixed order (background, object count, then per object colour, shape, size,
  // motion) so that a seed gives one expansion.
  Generator gen(seed, 0x70726f6d7074);  // stream "prompt"
  ExpandedPrompt out;
  if (!background) {
    background =
        draw_sayable<Background>(gen, kNumBackgrounds, known, [](Background) { return true; });
    out.filled.push_back("background: " + std::string(name(*background)));
  }
  out.spec.background = *background;
  if (objects.empty()) {
    objects.resize(static_cast<size_t>(1 + draw(gen, kMaxObjects)));
    out.filled.push_back("objects: " + std::to_string(objects.size()));
  }
  std::vector<bool> used(kNumColours, false);
  for (const Partial& o : objects)
    if (o.colour) used[static_cast<size_t>(*o.colour)] = true;
  for (size_t i = 0; i < objects.size(); ++i) {
    Partial& o = objects[i];
    const std::string who = "object " + std::to_string(i + 1) + " ";
    if (!o.colour) {
      o.colour = draw_sayable<Colour>(gen, kNumColours, known,
                                      [&](Colour c) { return !used[static_cast<size_t>(c)]; });
      used[static_cast<size_t>(*o.colour)] = true;
      out.filled.push_back(who + "colour: " + std::string(name(*o.colour)));
    }
    if (!o.shape) {
      // A spinning object is a square or a triangle.
      const bool spin = o.motion == Motion::kSpinning;
      o.shape = draw_sayable<Shape>(gen, kNumShapes, known,
                                    [&](Shape sh) { return !spin || can_spin(sh); });
      out.filled.push_back(who + "shape: " + std::string(name(*o.shape)));
    }
    if (!o.size) {
      o.size = draw_sayable<Size>(gen, kNumSizes, known, [](Size) { return true; });
      out.filled.push_back(who + "size: " + std::string(name(*o.size)));
    }
    if (!o.motion) {
      const bool moving = o.moving, spins = can_spin(*o.shape);
      o.motion = draw_sayable<Motion>(gen, moving ? 4 : kNumMotions, known, [&](Motion m) {
        return moving || spins || m != Motion::kSpinning;  // moving: left, right, up or down
      });
      out.filled.push_back(who + "motion: " + std::string(name(*o.motion)));
    }
    out.spec.objects.push_back({*o.size, *o.colour, *o.shape, *o.motion});
  }
  out.caption = canonical_caption(out.spec);
  return out;
}

bool speaks_shapes_world(const Tokenizer& t) {
  static const Tokenizer shapes = Tokenizer::shapes_world();
  if (t.subword()) return false;  // pieces, not Shapes World's words
  const std::vector<std::string>& words = t.vocab();
  // The special tokens (<pad>, <unk>, <empty>) come first in both.
  const auto first = words.begin() + std::min<ptrdiff_t>(kEmpty + 1, ptrdiff_t(words.size()));
  return first != words.end() && std::all_of(first, words.end(), [](const std::string& w) {
           return shapes.id(w).has_value();
         });
}

}  // namespace cubist::text
