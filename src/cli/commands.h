// The subcommands of `cubist`. Each takes the arguments after its own name and returns the exit
// status; cubist::Error and UsageError escaping from one are reported by main().
#pragma once

namespace cubist::cli {

int cmd_demo(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_vae(int argc, char** argv);

}  // namespace cubist::cli
