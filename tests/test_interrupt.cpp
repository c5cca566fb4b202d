// The polite stops of long jobs (cli/interrupt.h): each signal sets the flag a job checks after
// each step, instead of ending the process. Each runs in a child process, whose flag starts
// clear and whose exit status says whether the signal set it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

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

}  // namespace
}  // namespace cubist::cli
