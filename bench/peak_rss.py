#!/usr/bin/env python3
"""Runs a command and appends its peak resident memory to a file, as `NAME MB` on one line.

    bench/peak_rss.py FILE NAME COMMAND...

Under mpirun each rank runs its own copy, so `mpirun -np 2 bench/peak_rss.py F run cubist ...`
gives one line per process; the exit status is the command's.
"""
import resource
import subprocess
import sys

path, name, command = sys.argv[1], sys.argv[2], sys.argv[3:]
code = subprocess.run(command).returncode
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # ru_maxrss is in KB
with open(path, "a") as f:
    f.write(f"{name} {peak_mb:.0f}\n")
sys.exit(code)
