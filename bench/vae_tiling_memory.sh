#!/usr/bin/env bash
# Memory and time of `cubist vae encode` and `vae decode` with whole frames and with tiles, side
# by side in one run (docs/PERFORMANCE.md, "The autoencoder on large frames"): a clip of FFmpeg's
# test pattern, SIZE pixels and 17 frames, is encoded and decoded at each --tile (0 = whole
# frames), and GNU time gives the wall time and the peak resident memory of each process.
#
#   bench/vae_tiling_memory.sh [--size 512x512] [--tiles "0 256 128"]
#
# $CUBIST names another build's binary to measure (default build/cubist).
# Whole frames of 1920x1080 were OOM-killed at 24 GB before tiling: leave 0 out of --tiles there.
set -euo pipefail
cd "$(dirname "$0")/.."
cubist=${CUBIST:-build/cubist}
size=512x512 tiles="0 256 128"
while (($#)); do
  case $1 in
    --size) size=$2; shift 2 ;;
    --tiles) tiles=$2; shift 2 ;;
    *) echo "vae_tiling_memory.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
out=out/bench_vae_tiling_memory/$size
mkdir -p "$out"
clip=$out/clip.mp4  # FFmpeg's test pattern: Shapes World stops at 256 pixels a side
if [[ ! -f $clip ]]; then
  ffmpeg -loglevel error -f lavfi -i "testsrc2=size=$size:rate=24" -frames:v 17 -pix_fmt yuv420p \
    "$clip"
fi
measure() {  # label, command...: prints "label: S s, M MB"
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" >/dev/null 2>&1
  read -r secs kb <"$out/time.txt"
  printf '%-22s %7.1f s %7d MB\n' "$label:" "$secs" $((kb / 1024))
}
echo "vae encode/decode of $size x 17 frames ($(nproc) cores)"
for t in $tiles; do
  measure "encode --tile $t" "$cubist" vae encode "$clip" -o "$out/tile$t.safetensors" --tile "$t"
  measure "decode --tile $t" "$cubist" vae decode "$out/tile$t.safetensors" -o "$out/tile$t.mp4" \
    --tile "$t"
done
