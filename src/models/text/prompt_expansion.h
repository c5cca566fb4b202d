// Prompt expansion for Shapes World, in the role Sora gives a language model: a short prompt
// ("a red ball bouncing") becomes the detailed canonical caption the model was trained on ("a
// small red circle bouncing on a gray background"), with what the prompt leaves unsaid drawn from
// the world's own distribution (uniform, as data/shapes_sample.h) under a seed.
//
// The grammar is forgiving: words may come in any order; "a", "the", "on", "moving", ... are
// fillers; synonyms are accepted (ball, dot, disc -> circle; box, block, cube -> square; big,
// huge -> large; little, tiny -> small; grey -> gray; rising -> moving up; sinking, falling ->
// moving down; rotating, turning -> spinning; resting, stationary, static -> standing still;
// "bouncing up and down", "not moving"). Objects are separated by "and", "while", "with", or
// start again when a colour, shape, size or motion is given twice. A background is one of its
// four colours (black, gray, navy, brown), which no object can have. Unknown words, more than
// three objects, two objects of one colour or a spinning circle throw Error saying what is
// accepted. docs/TEXT.md lists every accepted word.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "data/shapes_world.h"

namespace cubist::text {

struct ExpandedPrompt {
  shapes::SceneSpec spec;
  std::string caption;              // shapes::canonical_caption(spec)
  std::vector<std::string> filled;  // what was not said and was drawn: "object 1 size: large"
};

// Whether a model can read a word (its tokenizer has it); an empty filter knows every word.
using WordFilter = std::function<bool(const std::string&)>;

// Same prompt and seed, same expansion. An empty prompt throws (it is the unconditional input of
// guidance, not a prompt to expand). What is drawn is drawn among the values whose words are
// all `known`, where there are any: a model trained on a few clips lacks some words, and the user
// never typed the ones expansion adds. With every word known, the draws are the same.
ExpandedPrompt expand_prompt(std::string_view prompt, uint64_t seed, const WordFilter& known = {});

class Tokenizer;
// Whether expansion suits a model of this tokenizer: every word of its captions is a Shapes
// World word. Expansion writes Shapes World captions, which a model trained on other captions
// has never read.
bool speaks_shapes_world(const Tokenizer& t);

// Every word expand_prompt accepts, sorted.
std::vector<std::string> prompt_words();

}  // namespace cubist::text
