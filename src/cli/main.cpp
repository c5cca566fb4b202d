// The `cubist` command line: one subcommand per job. The library below never prints or exits;
// this front door turns its errors into messages and exit codes.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/version.h"
#include "train/process_group.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* summary;
  // Whether these arguments run as several processes under mpirun (train/process_group.h).
  bool (*data_parallel)(int argc, char** argv) = nullptr;
};

// `cubist data shapes|index ...`
int cmd_data(int argc, char** argv) {
  const std::string what = argc > 0 ? argv[0] : "";
  if (what == "--help" || what == "-h") {
    std::printf(
        "usage: cubist data shapes --out DIR ...   Shapes World clips with captions and a "
        "manifest\n"
        "       cubist data index DIR ...          a folder's videos and images probed into a "
        "manifest\n"
        "(cubist data shapes --help, cubist data index --help for their options)\n");
    return 0;
  }
  if (what == "shapes") return cubist::cli::cmd_data_shapes(argc - 1, argv + 1);
  if (what == "index") return cubist::cli::cmd_data_index(argc - 1, argv + 1);
  throw cubist::cli::UsageError(
      "`cubist data` takes `shapes` (generate Shapes World clips) or `index DIR` (probe the "
      "videos of a folder into a manifest)");
}

constexpr Command kCommands[] = {
    {"demo", cubist::cli::cmd_demo, "train a small transformer on generated data; loss falls"},
    {"data", cmd_data, "datasets: `data shapes --out DIR ...`, `data index DIR`"},
    {"eval", cubist::cli::cmd_eval, "check videos against Shapes World captions"},
    {"text", cubist::cli::cmd_text, "tokenizer and prompt expansion: `text expand \"a red ball\"`"},
    {"bench", cubist::cli::cmd_bench, "benchmarks: `cubist bench block --tokens N`"},
    {"vae", cubist::cli::cmd_vae, "the video autoencoder: train, encode, decode, cache",
     [](int argc, char** argv) { return argc > 0 && !std::strcmp(argv[0], "train"); }},
    {"export", cubist::cli::cmd_export,
     "a weights file copied, in bf16 with --bf16: `export IN -o OUT --bf16`"},
    {"train", cubist::cli::cmd_train, "train the diffusion transformer: `train --config FILE`",
     [](int, char**) { return true; }},
    {"generate", cubist::cli::cmd_generate, "a video from a prompt: `generate \"PROMPT\" -o OUT`"},
    {"info", cubist::cli::cmd_info, "what a file is and what made it: `info OUT.mp4`"},
};

void print_usage(FILE* out) {
  std::fprintf(out, "usage: cubist <command> [options]   (cubist <command> --help for more)\n");
  std::fprintf(out, "       cubist --version\n\n");
  std::fprintf(out, "commands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out,
               "\nenvironment:\n"
               "  CUBIST_MODEL          the model folder generate and vae use by default\n"
               "                        (else models/shapes/)\n"
               "  CUBIST_VAE            the autoencoder the vae commands use by default\n"
               "  CUBIST_PROGRESS       json: progress as a JSON object a line on stderr, for\n"
               "                        programs; lines or bar: the plain or the redrawn bar\n"
               "  CUBIST_DETERMINISTIC  1: the same bits at any thread count (slower)\n"
               "  CUBIST_CACHE_LIMIT_MB freed tensor memory is kept for reuse until this much is\n"
               "                        held in all (default: 3/4 of the machine's memory)\n"
               "  OMP_NUM_THREADS       threads to use (default: every core)\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("cubist %s\n", cubist::version());
    return 0;
  }
  const int processes = cubist::launched_processes();
  for (const Command& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    // Under mpirun every process runs this; a job that one process does would be done N times
    // into the same files.
    if (processes > 1 && !(c.data_parallel && c.data_parallel(argc - 2, argv + 2))) {
      std::fprintf(stderr,
                   "cubist %s: a launcher (mpirun) started %d processes, but `cubist %s` runs in "
                   "one; only `cubist train` and `cubist vae train` train across processes "
                   "(mpirun -np N cubist train --config FILE)\n",
                   c.name, processes, c.name);
      return 2;
    }
    // Under a launcher each process says which it is, as every one of them may report.
    std::string who = std::string("cubist ") + c.name;
    if (processes > 1)
      who += " (process " + std::to_string(cubist::launched_rank()) + " of " +
             std::to_string(processes) + ")";
    int code = 0;
    // An error every process hits (a bad config) would be printed once by each. Process 0
    // prints at once and its exit ends the others, so they wait a moment first: an error of
    // theirs alone is still printed, 3 s late. (Open MPI's mpirun takes 0.5-1 s to end them
    // after process 0 exits, so 1 s was not always enough.)
    const auto after_process_0 = [&] {
      if (processes > 1 && cubist::launched_rank() != 0)
        std::this_thread::sleep_for(std::chrono::seconds(3));
    };
    try {
      return c.run(argc - 2, argv + 2);
    } catch (const cubist::cli::UsageError& e) {
      after_process_0();
      // `cubist data shapes --help` has the options of `data shapes`; `data --help` lists only
      // its two subcommands (text and vae print every subcommand's options in one help).
      std::string help = c.name;
      if (help == "data" && argc > 2 &&
          (!std::strcmp(argv[2], "shapes") || !std::strcmp(argv[2], "index")))
        help += std::string(" ") + argv[2];
      std::fprintf(stderr, "%s: %s\n(see `cubist %s --help`)\n", who.c_str(), e.what(),
                   help.c_str());
      code = 2;
    } catch (const cubist::Error& e) {
      after_process_0();
      std::fprintf(stderr, "%s: error: %s\n", who.c_str(), e.what());
      code = 1;
    } catch (const std::bad_alloc&) {
      after_process_0();
      std::fprintf(stderr,
                   "%s: error: out of memory: the job asks for more than this machine can give; "
                   "ask for less (a smaller size, fewer frames, a smaller batch)\n",
                   who.c_str());
      code = 1;
    } catch (const std::exception& e) {
      after_process_0();
      std::fprintf(stderr, "%s: unexpected failure: %s\n", who.c_str(), e.what());
      code = 1;
    }
    // The other processes may be waiting for this one: end them all.
    if (processes > 1) cubist::abort_processes(code);
    return code;
  }
  std::fprintf(stderr, "cubist: unknown command '%s'\n\n", argv[1]);
  print_usage(stderr);
  return 2;
}
