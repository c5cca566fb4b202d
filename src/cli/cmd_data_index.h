// `cubist data index`: see cmd_data_index.cpp. For main.cpp (or a `data` dispatcher) to call with
// the arguments after `index`; returns the exit status, throws UsageError / cubist::Error as the
// other commands do (main() reports them).
#pragma once

namespace cubist::cli {

int cmd_data_index(int argc, char** argv);

}  // namespace cubist::cli
