// `cubist export IN -o OUT [--bf16]`: a weights file (an autoencoder's vae.safetensors, a
// transformer's dit.safetensors) copied with its metadata, in bf16 with --bf16: how the bundled
// model is made half the size of a training run's weights.
#include <cstdio>
#include <optional>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "io/output_folder.h"
#include "io/safetensors.h"
#include "pipeline/file_info.h"

namespace cubist::cli {

namespace {

constexpr const char* kUsage =
    "usage: cubist export IN.safetensors -o OUT.safetensors [--bf16]\n"
    "Copies the tensors and metadata of a Cubist weights file (vae.safetensors from `cubist vae\n"
    "train`, dit.safetensors from `cubist train`), converted to bf16 with --bf16 (half the\n"
    "size; the models load bf16 weights as f32). OUT records \"exported_from\" = IN.";

}  // namespace

int cmd_export(int argc, char** argv) {
  Args args(argc, argv);
  if (args.flag("--help") || args.flag("-h")) {
    std::puts(kUsage);
    return 0;
  }
  std::string out = args.str("-o", "");
  const bool bf16 = args.flag("--bf16");
  const std::vector<std::string> in = args.positional();
  args.finish();
  if (in.size() != 1)
    throw UsageError("give exactly one weights file to export (got " + std::to_string(in.size()) +
                     ")");
  if (out.empty()) throw UsageError("give the file to write with -o OUT.safetensors");
  check_output_extension(out, ".safetensors", "a weights file");
  check_output_place(out);  // a missing folder is named before the weights are read
  // An export replaces weights of its model (a transformer's or checkpoint's, an autoencoder's),
  // never other weights or the input itself.
  const std::string kind = describe_file(in[0])["kind"].get<std::string>();
  const std::string model = kind.substr(0, kind.find(" checkpoint"));
  check_replaces_only(out, {model, model + " checkpoint"}, "export", in[0]);
  const int64_t n = export_safetensors(
      in[0], out, bf16 ? std::optional<FileDType>(FileDType::BF16) : std::nullopt);
  std::printf("export: %s -> %s (%lld values%s)\n", in[0].c_str(), out.c_str(),
              static_cast<long long>(n), bf16 ? ", bf16" : "");
  return 0;
}

}  // namespace cubist::cli
