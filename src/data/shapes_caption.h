// Shapes World captions: the canonical caption of the spec's grammar (and its parser), short
// prompts ("a red circle bouncing") and richer descriptions in several phrasings of the same facts
// ("On a navy background, a large red circle bounces while a small cyan square slides to the
// left.").
#pragma once

#include <string>
#include <string_view>

#include "core/rng.h"
#include "data/shapes_world.h"

namespace cubist::shapes {

// objects " on a " background " background", objects joined as "A", "A and B" or "A, B and C".
std::string canonical_caption(const SceneSpec& spec);

// The facts of a canonical caption. Accepts exactly the grammar (lower case, single spaces, no
// final full stop); anything else throws cubist::Error naming the word that is wrong (by its
// position, counting from 1) and the words accepted there. World rules (distinct colours, no
// spinning circles) are not checked here: see world_rule_violation().
SceneSpec parse_caption(std::string_view caption);

// Colour, shape and motion of each object, without sizes or background: "a red circle bouncing
// and an orange square moving left".
std::string short_prompt(const SceneSpec& spec);

// A descriptive sentence stating every fact of the spec; the template and the synonyms are
// drawn from gen. There are kDescriptionTemplates sentence templates.
inline constexpr int kDescriptionTemplates = 5;
std::string describe(const SceneSpec& spec, Generator& gen);
// The same with the template chosen and synonyms picked by the bits of `variant`.
std::string describe(const SceneSpec& spec, int template_index, uint64_t variant);

}  // namespace cubist::shapes
