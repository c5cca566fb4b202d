#!/usr/bin/env bash
# Set-up, build, then every test (README's test command; .ci/run runs exactly this).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd build
ctest --output-on-failure -j2 --timeout 600
