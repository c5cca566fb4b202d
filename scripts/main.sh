#!/usr/bin/env bash
# Set-up, build, then the main job (README's first command): a video from a text prompt with the
# bundled Shapes World model (models/shapes/). Extra arguments go to `cubist generate`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p out
build/cubist generate "a red ball bouncing" --size 96x64 --frames 17 --seed 5 -o out/main.mp4 "$@"
echo "main: out/main.mp4 (and its provenance record out/main.mp4.json)"
