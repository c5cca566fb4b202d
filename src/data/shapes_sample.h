// Shapes World scene sampling: every choice is uniform, drawn from a cubist::Generator (Philox),
// so one seed gives one scene on every machine and library version. Start positions and phases
// are drawn again until every object stays inside the frame and no two objects share a pixel on
// any frame (docs/SHAPES_WORLD.md gives the exact order of the draws).
#pragma once

#include "core/rng.h"
#include "data/shapes_world.h"

namespace cubist::shapes {

inline constexpr int kPlacementAttempts = 100;  // per set of objects
inline constexpr int kSceneAttempts = 1000;     // sets of objects before giving up

// A whole random scene of the given size and length.
Scene sample_scene(int width, int height, int frames, Generator& gen);

// A random set of objects and background (the facts a caption states).
SceneSpec sample_spec(Generator& gen);

// Places the objects of `spec` at random (start positions, bounce periods and phases, spin
// angles). Returns false when kPlacementAttempts tries all failed.
bool try_place(const SceneSpec& spec, int width, int height, int frames, Generator& gen,
               Scene* out);

// Like try_place, but throws cubist::Error (naming the spec) when the objects do not fit.
Scene place_scene(const SceneSpec& spec, int width, int height, int frames, Generator& gen);

}  // namespace cubist::shapes
