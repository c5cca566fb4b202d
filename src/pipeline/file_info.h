// What a file that Cubist makes or reads is, and what made it (`cubist info`): a generated
// video's provenance (from its tags, else the record beside it), checked against the model that
// would make it now, and the `cubist generate` command that makes it again; a video's or an
// image's size; the config, size and training of a transformer or an autoencoder (weights or a
// run's checkpoint); a latent file's shape and source; a tokenizer; a manifest; and what a model
// folder or a training run's folder holds.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace cubist {

// A description as JSON: "path", "kind" (one of "generated video", "generated image", "video",
// "image", "transformer", "transformer checkpoint", "autoencoder", "autoencoder checkpoint",
// "latent", "tokenizer", "provenance record", "video manifest", "latent manifest", "folder") and
// what is known of it. A generated video's or a record's "made_by" compares the model files it
// records (by SHA-256) with those of `model_dir` (empty: the default model folder, as generate
// finds it). A path that is none of these is an Error that says what is described.
nlohmann::ordered_json describe_file(const std::string& path, const std::string& model_dir = "");

// Refuses to let `writer` replace the file at `path` unless it is one of `kinds` (describe_file's
// "kind"): what a command writes replaces a file of its own kind, never weights, a record or a
// file Cubist cannot read. Nothing there, or a folder (check_output_place's), passes. Refuses
// `path` when it is the file `input` too (an export in place).
void check_replaces_only(const std::string& path, const std::vector<std::string>& kinds,
                         const std::string& writer, const std::string& input = "");

// The `cubist generate` command line that makes a generated video again from its provenance
// record (the same seed and settings give the same frames), writing to `out`, with the model in
// `model_dir` (empty: the default model); input videos and images by the names the record holds.
// Where the record says how it ran ("run", in the sidecar), the line starts with the thread
// count (OMP_NUM_THREADS=N), on which the bytes depend, or CUBIST_DETERMINISTIC=1, with which
// they do not. An Error when the record is not a generation's.
std::string generate_command(const nlohmann::ordered_json& record, const std::string& out,
                             const std::string& model_dir = "");

}  // namespace cubist
