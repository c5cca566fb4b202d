// The polite stops of long jobs (cli/interrupt.h): each signal sets the flag a job checks after
// each step, instead of ending the process. Each runs in a child process, whose flag starts
// clear and whose exit status says whether the signal set it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <utility>

#include "cli/interrupt.h"

namespace cubist::cli {
namespace {

TEST(Interrupt, EveryStopSignalSetsTheFlagInsteadOfEndingTheProcess) {
  for (const int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) {
      const std::atomic<bool>* stop = stop_on_signals();
      const bool before = stop->load();
      std::raise(sig);  // delivered before raise returns; unhandled, it would end the child
      _exit(!before && stop->load() ? 0 : 3);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << strsignal(sig) << ": "
        << (WIFSIGNALED(status) ? "ended the process" : "left the flag clear");
  }
}

// A job stopped by Ctrl-C or SIGTERM ends as a shell reports a process they end (130, 143), so
// that `cubist train && next` stops; a scheduler's SIGUSR1 or SIGUSR2 is a planned stop (0).
TEST(Interrupt, TheStatusOfAStoppedJobSaysWhichSignal) {
  for (const auto& [sig, want] :
       {std::pair{0, 0}, {SIGINT, 130}, {SIGTERM, 143}, {SIGUSR1, 0}, {SIGUSR2, 0}}) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) {
      stop_on_signals();
      if (sig) std::raise(sig);
      if (sig == SIGINT) std::raise(SIGTERM);  // the first signal is the one that counts
      _exit(stop_status());
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == want) << sig;
  }
}

}  // namespace
}  // namespace cubist::cli
