// `cubist info PATH...`: what a file Cubist makes or reads is, and what made it
// (pipeline/file_info.h); a generated video's provenance and the command that makes it again.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "pipeline/file_info.h"

namespace cubist::cli {

namespace {

constexpr const char* kUsage =
    "usage: cubist info PATH... [--model DIR] [--json]\n"
    "\n"
    "Says what each file is and what made it:\n"
    "  a generated video or image (its provenance, from the metadata Cubist writes into\n"
    "    every form it writes, else the OUT.json beside it): the prompt, the expanded\n"
    "    prompt, the seed and settings, whether the model that generate would use now made\n"
    "    it (its files compared by SHA-256: --model DIR, default as generate finds it), and\n"
    "    the `cubist generate` command that makes it again (the same frames);\n"
    "  any other video or image: frames, size, frame rate, codec;\n"
    "  dit.safetensors, vae.safetensors and training checkpoints: the model's sizes and\n"
    "    parameters, its tokenizer, the step and data it was trained to;\n"
    "  a latent file (vae encode, vae cache): its shape, source video and refinement;\n"
    "  a tokenizer or provenance .json, a manifest .jsonl, a model or training folder.\n"
    "--json prints one JSON object a line, for programs.";

// The description as indented "key: value" lines: objects nested, lists of plain values on one
// line.
void print_value(const nlohmann::ordered_json& v, int indent);

void print_fields(const nlohmann::ordered_json& j, int indent) {
  for (const auto& [key, value] : j.items()) {
    std::printf("%*s%s:", indent, "", key.c_str());
    print_value(value, indent);
  }
}

void print_value(const nlohmann::ordered_json& v, int indent) {
  if (v.is_object()) {
    std::printf("\n");
    print_fields(v, indent + 2);
    return;
  }
  if (v.is_array()) {
    bool plain = true;
    for (const auto& e : v) plain = plain && !e.is_structured();
    if (!plain) {
      std::printf("\n");
      for (const auto& e : v) {
        std::printf("%*s-", indent + 2, "");
        print_value(e, indent + 2);
      }
      return;
    }
    std::string line;
    for (const auto& e : v) {
      if (!line.empty()) line += ", ";
      line += e.is_string() ? e.get<std::string>() : e.dump();
    }
    std::printf(" %s\n", line.c_str());
    return;
  }
  std::printf(" %s\n", v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
}

// Prints what `path` is: a JSON line, or its kind and fields, after a blank line when `after`
// (another was printed before it).
void describe(const std::string& path, const std::string& model, bool json, bool after) {
  const nlohmann::ordered_json d = describe_file(path, model);
  if (json) {
    std::printf("%s\n", d.dump().c_str());
    return;
  }
  std::printf("%s%s: %s\n", after ? "\n" : "", path.c_str(), d["kind"].get<std::string>().c_str());
  nlohmann::ordered_json rest = d;
  rest.erase("path");
  rest.erase("kind");
  print_fields(rest, 2);
}

}  // namespace

int cmd_info(int argc, char** argv) {
  Args args(argc, argv);
  if (args.flag("--help") || args.flag("-h")) {
    std::puts(kUsage);
    return 0;
  }
  const bool json = args.flag("--json");
  const std::string model = args.path("--model");
  const std::vector<std::string> paths = args.positional();
  args.finish();
  if (paths.empty()) throw UsageError("give the files or folders to describe");
  // Each is described; one it cannot describe is named on standard error and the rest go on
  // (`cubist info run/*`); the status says whether any failed.
  int status = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    try {
      describe(paths[i], model, json, i > 0);
    } catch (const Error& e) {
      std::fflush(stdout);
      std::fprintf(stderr, "cubist info: error: %s\n", e.what());
      status = 1;
    }
  }
  return status;
}

}  // namespace cubist::cli
