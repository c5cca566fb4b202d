// Ctrl-C and SIGTERM for long jobs: instead of killing the process, the signal sets a flag that
// the job checks after each step, so that it can save a checkpoint and return.
#pragma once

#include <atomic>

namespace cubist::cli {

// Installs the handlers (once) and returns the flag they set.
const std::atomic<bool>* stop_on_signals();

}  // namespace cubist::cli
