// `cubist text`: builds a tokenizer (words or SentencePiece pieces) from captions, encodes prompts
// with it, and expands short Shapes World prompts into full captions (docs/TEXT.md).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "io/output_folder.h"
#include "io/safetensors.h"
#include "models/model_files.h"
#include "models/text/prompt_expansion.h"
#include "models/text/tokenizer.h"
#include "pipeline/file_info.h"

namespace cubist::cli {
namespace {

constexpr const char* kUsage =
    "usage: cubist text tokenizer --out FILE [--manifest M.jsonl] [--max-tokens 64]\n"
    "                             [--type word|sentencepiece] [--pieces 4000]\n"
    "       cubist text encode --tokenizer FILE \"PROMPT\" [--tokens]\n"
    "       cubist text expand \"PROMPT\" [--seed 0]\n"
    "tokenizer: writes a tokenizer (JSON) built from every caption Shapes World writes, or with\n"
    "  --manifest from the manifest's \"caption\" fields. --type word (the default): one token a\n"
    "  word; --type sentencepiece: a SentencePiece model of at most --pieces subword pieces,\n"
    "  which reads words it never saw as pieces of those it did (a DiT config's text.tokenizer\n"
    "  and text.pieces make `cubist train` build the same).\n"
    "encode: prints the token ids of a prompt as JSON (unknown words are an error listing the\n"
    "  vocabulary; the empty prompt is the <empty> token); --tokenizer takes a tokenizer file,\n"
    "  or a model's dit.safetensors, checkpoint or folder, whose tokenizer it reads; --tokens prints\n"
    "  {\"ids\": [...], \"tokens\": [...]}, the word or SentencePiece piece of each id.\n"
    "expand: turns a short Shapes World prompt (\"a red ball bouncing\") into the full caption "
    "the\n"
    "  model is trained on, drawing what it leaves unsaid from the world under the seed; prints\n"
    "  JSON {\"prompt\", \"expanded\", \"filled\"}.\n";

std::string one_prompt(Args& a) {
  const std::vector<std::string> pos = a.positional();
  a.finish();
  if (pos.size() != 1) throw UsageError("give exactly one prompt (in quotes)");
  return pos[0];
}

int tokenizer(Args& a) {
  const std::string out = a.required("--out");
  const std::string manifest = a.str("--manifest", "");
  const int64_t max_tokens = a.integer("--max-tokens", text::kDefaultMaxTokens);
  const std::string type = a.str("--type", "word");
  const bool pieces_given = a.has("--pieces");
  const int64_t pieces = a.integer("--pieces", text::kDefaultSentencePieceVocab);
  a.finish();
  check_output_extension(out, ".json", "a tokenizer");
  check_output_place(out);  // before the captions are read and a tokenizer trained
  check_replaces_only(out, {"tokenizer"}, "text tokenizer");
  if (type != "word" && type != "sentencepiece")
    throw UsageError("--type is word or sentencepiece, not \"" + type + "\"");
  if (pieces_given && type != "sentencepiece")
    throw UsageError(
        "--pieces sets the size of a sentencepiece tokenizer; add --type sentencepiece");
  std::vector<std::string> captions = text::shapes_world_captions();
  if (!manifest.empty()) {
    std::ifstream in(manifest);
    CUBIST_CHECK(in.good(), "cannot open manifest ", manifest);
    std::vector<std::string> read;
    std::string line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      try {
        read.push_back(nlohmann::json::parse(line).at("caption").get<std::string>());
      } catch (const std::exception& e) {
        fail(manifest, ":", n, ": no \"caption\" string (", e.what(), ")");
      }
    }
    CUBIST_CHECK(!read.empty(), manifest,
                 " holds no captions; a tokenizer is trained on the captions of a manifest, one "
                 "JSON object a line with a \"caption\" string");
    captions = std::move(read);
  }
  const text::Tokenizer tok = type == "word"
                                  ? text::Tokenizer::from_captions(captions, max_tokens)
                                  : text::Tokenizer::sentencepiece(captions, pieces, max_tokens);
  tok.save(out);
  std::printf("%s: %lld tokens\n", out.c_str(), static_cast<long long>(tok.vocab_size()));
  return 0;
}

// A tokenizer file, or the tokenizer a transformer's weights or checkpoint carry (a model
// folder: its dit.safetensors), so a trained model's reading of a prompt can be seen.
text::Tokenizer read_tokenizer(const std::string& path) {
  std::error_code ec;
  const std::string file = std::filesystem::is_directory(path, ec)
                               ? (std::filesystem::path(path) / kDiTFile).string()
                               : path;
  if (!file.ends_with(".safetensors")) return text::Tokenizer::load(file);
  const SafeTensors f = SafeTensors::open(file);
  const auto meta = f.metadata().find("tokenizer");
  CUBIST_CHECK(meta != f.metadata().end(), file,
               ": holds no tokenizer (a transformer's dit.safetensors or checkpoint does; give "
               "one, or a tokenizer .json)");
  return text::Tokenizer::from_json(meta->second, file);
}

int encode(Args& a) {
  const std::string path = a.required("--tokenizer");
  const bool tokens = a.flag("--tokens");
  const std::string prompt = one_prompt(a);
  const text::Tokenizer tok = read_tokenizer(path);
  const std::vector<int32_t> ids = tok.encode(prompt);
  if (!tokens) {
    std::printf("%s\n", nlohmann::json(ids).dump().c_str());
    return 0;
  }
  nlohmann::ordered_json j;
  j["ids"] = ids;
  for (int32_t id : ids) j["tokens"].push_back(tok.vocab()[static_cast<size_t>(id)]);
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

int expand(Args& a) {
  const uint64_t seed = a.seed("--seed", 0);
  const std::string prompt = one_prompt(a);
  const text::ExpandedPrompt e = text::expand_prompt(prompt, seed);
  nlohmann::ordered_json j;
  j["prompt"] = prompt;
  j["expanded"] = e.caption;
  j["filled"] = e.filled;
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

}  // namespace

int cmd_text(int argc, char** argv) {
  Args a(argc > 0 ? argc - 1 : 0, argv + (argc > 0 ? 1 : 0));
  const std::string what = argc > 0 ? argv[0] : "";
  if (what == "--help" || what == "-h" || a.flag("--help") || a.flag("-h")) {
    std::fputs(kUsage, stdout);  // `cubist text expand --help` too: one usage covers all three
    return 0;
  }
  if (what == "tokenizer") return tokenizer(a);
  if (what == "encode") return encode(a);
  if (what == "expand") return expand(a);
  throw UsageError("`cubist text` takes `tokenizer`, `encode` or `expand`");
}

}  // namespace cubist::cli
