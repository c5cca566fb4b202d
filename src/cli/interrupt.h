// Ctrl-C and other polite stops for long jobs: instead of killing the process, the signal sets a
// flag that the job checks after each step, so that it can save a checkpoint and return.
//
// SIGINT (Ctrl-C) and SIGTERM stop a job run on its own. Under mpirun they do not serve: Open MPI
// answers Ctrl-C on mpirun by sending every process SIGTERM and, a second later (its
// odls_base_sigkill_timeout), SIGKILL, so a step longer than that dies unsaved. mpirun forwards
// SIGUSR1 and SIGUSR2 to every process unchanged, as Slurm's `scancel --signal` and `sbatch
// --signal` deliver them, so those stop a job too: `kill -USR1 <mpirun's pid>` stops every
// process at the same step, checkpointed (docs/DIT.md, "Data parallel").
#pragma once

#include <atomic>

namespace cubist::cli {

// Installs the handlers of SIGINT, SIGTERM, SIGUSR1 and SIGUSR2 (once) and returns the flag they
// set.
const std::atomic<bool>* stop_on_signals();

// The exit status of a job that a signal stopped, checkpointed: 128 + the signal for SIGINT and
// SIGTERM (130, 143, as a shell reports a process they end), so that `cubist train && next`
// does not go on with a partial result; 0 for SIGUSR1 and SIGUSR2, a scheduler's planned stop
// (docs/DIT.md, "Data parallel"), and when no signal came.
int stop_status();

}  // namespace cubist::cli
