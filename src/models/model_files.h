// Where trained models are found when the user names none. A model folder holds the files one
// text-to-video model needs, dit.safetensors (the diffusion transformer, from `cubist train`) and
// vae.safetensors (its video autoencoder, from `cubist vae train`). The default folder is
// $CUBIST_MODEL when set, else models/shapes/ (the bundled Shapes World model) in the working
// directory, else beside the executable (build/../models/shapes, then models/shapes next to it).
#pragma once

#include <string>
#include <vector>

namespace cubist {

inline constexpr const char* kModelDirEnv = "CUBIST_MODEL";
inline constexpr const char* kBundledModelDir = "models/shapes";
inline constexpr const char* kDiTFile = "dit.safetensors";
inline constexpr const char* kVaeFile = "vae.safetensors";

// The folders to look in, in order: {$CUBIST_MODEL} when it is set, else the bundled folder in
// the working directory and beside the executable.
std::vector<std::string> default_model_dirs();

// The path of `file` in the model folder `dir`, or, when dir is empty, in the first default
// folder that holds it. A missing file is an Error that says where it looked and `how_to_get`
// (for instance "train one with `cubist vae train`").
std::string find_model_file(const std::string& file, const std::string& dir,
                            const std::string& how_to_get);

}  // namespace cubist
