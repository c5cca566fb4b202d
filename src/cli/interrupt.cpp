#include "cli/interrupt.h"

#include <csignal>

namespace {

std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_signal = 0;  // the first signal that came
extern "C" void cubist_on_stop_signal(int sig) {
  if (g_signal == 0) g_signal = sig;
  g_stop = true;
}

}  // namespace

namespace cubist::cli {

const std::atomic<bool>* stop_on_signals() {
  for (const int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) std::signal(sig, cubist_on_stop_signal);
  return &g_stop;
}

int stop_status() { return g_signal == SIGINT || g_signal == SIGTERM ? 128 + g_signal : 0; }

}  // namespace cubist::cli
