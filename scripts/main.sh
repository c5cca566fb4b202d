#!/usr/bin/env bash
# Set-up, build, then the main job (README's first command).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/cubist demo --out out/demo "$@"
