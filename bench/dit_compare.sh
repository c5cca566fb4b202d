#!/usr/bin/env bash
# The diffusion transformer, Cubist against PyTorch on this machine (docs/PERFORMANCE.md,
# "Diffusion transformer: Cubist vs PyTorch"): training throughput and generation time of
# 17-frame 64x64 clips with the Shapes World model's architecture, and `cubist generate` end to end.
#
#   bench/dit_compare.sh [--runs 5] [--threads 2] [--iters 5] [--gen-iters 3] [--steps 30]
#                        [--config configs/dit/shapes.json] [--model DIR | --no-generate]
#                        [--build build] [--out DIR]
#
# Each run starts bench_dit (build/bench_dit) and then bench/dit_torch.py, each a fresh process
# timing the best of --iters training steps (8 clips of latents [16, 5, 8, 8]: 80 tokens each,
# 640 packed), guided evaluations (the conditional and unconditional clip together) and of
# --gen-iters whole --steps Heun generations; then, with a model folder (--model, else
# /work/runs/bundle or models/shapes if present), one `cubist generate` of a 17-frame 64x64 clip
# with --steps, timed as a whole (prompt expansion, loading, sampling, decoding, MP4). The table
# gives every run and the median over runs. Raw JSON lines go to OUT/runs.jsonl. Run it on a
# quiet machine: other processes on the cores make both sides' times worthless.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5 threads=2 iters=5 gen_iters=3 steps=30 config=configs/dit/shapes.json
model="" generate=1 build=build out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --gen-iters) gen_iters=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --no-generate) generate=0; shift ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "dit_compare: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
out=${out:-$(mktemp -d /tmp/dit_compare.XXXXXX)}
mkdir -p "$out"
log="$out/runs.jsonl"
: >"$log"
if [[ $generate == 1 && -z $model ]]; then
  for d in /work/runs/bundle models/shapes; do
    if [[ -f $d/dit.safetensors && -f $d/vae.safetensors ]]; then model=$d; break; fi
  done
fi
[[ -n $model ]] || generate=0

latents=16,5,8,8 batch=8
for ((r = 1; r <= runs; r++)); do
  ours=$(OMP_NUM_THREADS=$threads "$build/bench_dit" "$config" "$latents" "$iters" \
    --batch "$batch" --steps "$steps" --gen-iters "$gen_iters")
  echo "{\"run\": $r, \"cubist\": $ours}" >>"$log"
  # The PyTorch model gets Cubist's vocabulary, caption lengths and prompt length.
  read -r vocab lens plen < <(/usr/bin/python3 -c \
    'import json,sys; j=json.loads(sys.argv[1]); print(j["vocab"], ",".join(map(str, j["text_lens"])), j["prompt_len"])' \
    "$ours")
  theirs=$(/usr/bin/python3 bench/dit_torch.py --config "$config" --latents "$latents" \
    --batch "$batch" --text-lens "$lens" --prompt-len "$plen" --vocab "$vocab" --iters "$iters" \
    --steps "$steps" --gen-iters "$gen_iters" --threads "$threads")
  echo "{\"run\": $r, \"torch\": $theirs}" >>"$log"
  if [[ $generate == 1 ]]; then
    t0=$(date +%s.%N)
    OMP_NUM_THREADS=$threads "$build/cubist" generate "a red ball bouncing" -o "$out/gen_$r.mp4" \
      --size 64x64 --frames 17 --steps "$steps" --seed 1 --model "$model" >"$out/gen_$r.log" 2>&1
    t1=$(date +%s.%N)
    echo "{\"run\": $r, \"generate_s\": $(awk "BEGIN {print $t1 - $t0}"), \"model\": \"$model\"}" >>"$log"
  fi
  echo "run $r of $runs done" >&2
done

/usr/bin/python3 - "$log" "$threads" "$steps" <<'EOF'
import json, statistics, sys
log, threads, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [json.loads(l) for l in open(log)]
ours = [r["cubist"] for r in rows if "cubist" in r]
theirs = [r["torch"] for r in rows if "torch" in r]
gen = [r["generate_s"] for r in rows if "generate_s" in r]
o = ours[0]
print(f"DiT {o['config']}: {o['params']} parameters in Cubist, {theirs[0]['params']} in PyTorch; "
      f"{threads} threads; {len(ours)} runs, each the best of its iterations; median over runs")
print(f"train: {o['batch']} clips of latents {o['latents']} = {o['train_tokens']} tokens, "
      f"caption tokens {o['text_lens']}; sampling prompt {o['prompt_len']} tokens\n")

def cells(xs, fmt):
    return " ".join(fmt.format(x) for x in xs), statistics.median(xs)

metrics = [("train step, ms", "train_step_ms", "{:.1f}", False),
           ("train tokens/s", "train_tokens_per_s", "{:.0f}", True),
           ("guided eval (2 x %d tokens), ms" % o["tokens"], "guided_eval_ms", "{:.2f}", False),
           ("%d-step Heun generation (%d evals), ms" % (steps, 2 * steps), "generate_ms", "{:.0f}",
            False)]
print("| measure | Cubist runs | Cubist median | PyTorch runs | PyTorch median | Cubist speed-up |")
print("|---|---|---|---|---|---|")
for name, key, fmt, higher in metrics:
    if key == "generate_ms" and not steps:
        continue
    a, am = cells([x[key] for x in ours], fmt)
    b, bm = cells([x[key] for x in theirs], fmt)
    ratio = am / bm if higher else bm / am
    print(f"| {name} | {a} | {fmt.format(am)} | {b} | {fmt.format(bm)} | {ratio:.2f}x |")
if gen:
    g, gm = cells(gen, "{:.2f}")
    print(f"| `cubist generate` 17x64x64, {steps} steps, end to end, s | {g} | {gm:.2f} | - | - | - |")
    print(f"\nmodel folder: {rows[-1]['model']}")
print(f"\npeak tensor MiB (Cubist, training): {statistics.median(x['peak_tensor_mb'] for x in ours):.0f}; "
      f"max RSS MiB (PyTorch process): {statistics.median(x['max_rss_mb'] for x in theirs):.0f}")
print(f"raw: {log}")
EOF
