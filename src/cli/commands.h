// The subcommands of `cubist`. Each takes the arguments after its own name (for `cubist data
// shapes --out D`, cmd_data_shapes gets {"--out", "D"}) and returns the exit status;
// cubist::Error and UsageError escaping from one are reported by main().
#pragma once

namespace cubist::cli {

int cmd_demo(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_data_shapes(int argc, char** argv);
int cmd_data_index(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_text(int argc, char** argv);
int cmd_vae(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_export(int argc, char** argv);
int cmd_info(int argc, char** argv);

}  // namespace cubist::cli
