#include "cli/interrupt.h"

#include <csignal>

namespace {

std::atomic<bool> g_stop{false};
extern "C" void cubist_on_stop_signal(int) { g_stop = true; }

}  // namespace

namespace cubist::cli {

const std::atomic<bool>* stop_on_signals() {
  for (const int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) std::signal(sig, cubist_on_stop_signal);
  return &g_stop;
}

}  // namespace cubist::cli
