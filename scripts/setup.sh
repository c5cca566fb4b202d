#!/usr/bin/env bash
# Installs what Cubist needs from Debian's packages (only what is missing), then configures and
# builds it in ./build. Safe to run again: a second run installs nothing and rebuilds only what
# changed. Options are passed to CMake (for example -DCUBIST_GEMM=blis).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libgtest-dev                       # tests
  libopenblas-openmp-dev libblis-openmp-dev libdnnl-dev   # GEMM and convolution backends
  nlohmann-json3-dev                 # safetensors headers, configs, manifests
  libsentencepiece-dev               # the subword tokenizer of captions
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg   # video in and out
  python3-torch python3-numpy        # PyTorch reference values for the tests and benchmarks
  libopenmpi-dev openmpi-bin         # data-parallel training (mpirun -np N cubist train)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C build
