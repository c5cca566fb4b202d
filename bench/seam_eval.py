#!/usr/bin/env python3
"""The seams of extensions and connections alone (the measures of bench/prompt_modes_eval.py, on
more clips and faster): held-out Shapes World clips (seed 515151, 64x64, 17 frames; those of
prompt_modes_eval.py and edit_eval.py), each extended backward (`back`) or forward (`forward`)
by 8 frames and connected to itself (`connect`), or made from its caption alone as a 65-frame
clip, 17-frame windows chained (`long`), 30 Heun steps, seed = clip index. Prints the RMS change
(0-255) at the seam against the mean change inside the input (`long`: at the steps from one
window into the next against every other step), per clip and on average. Arguments after `--` go to `cubist generate` (--seam-guidance 0); $CUBIST names another
build to compare.

    python3 bench/seam_eval.py [--clips 10] [--modes back,connect,forward,long] [--out out/seam_eval]
                               [-- ARGS]

Needs numpy and the ffmpeg command."""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from prompt_modes_eval import CUBIST, frames, held_out_clips, rms, source_mp4


def main():
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--modes", default="back,connect,forward")
    ap.add_argument("--out", default="out/seam_eval")
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    os.makedirs(a.out, exist_ok=True)
    truth, entries = held_out_clips(a.out, a.clips)
    for mode in a.modes.split(","):
        seams, inside = [], []
        began = time.time()
        for i, e in enumerate(entries):
            src = source_mp4(truth, e, os.path.join(a.out, f"src_{i:03d}.mp4"))
            out = os.path.join(a.out, f"{mode}_{i:03d}.mp4")
            how = {"back": ["--extend", src, "--direction", "backward", "--frames", "8"],
                   "forward": ["--extend", src, "--frames", "8"],
                   "connect": ["--connect", src, src], "long": ["--frames", "65"]}[mode]
            subprocess.run([CUBIST, "generate", e["caption"], "--no-expand", *how, "--size",
                            "64x64", "--steps", "30", "--seed", str(i), "-o", out, *extra],
                           check=True, capture_output=True)
            f = frames(out, 64, 64)
            steps = [rms(f[t], f[t + 1]) for t in range(len(f) - 1)]
            if mode == "long":  # windows of 5 latent frames: each adds 4 (5 - K) frames
                K = int(extra[extra.index("--overlap") + 1]) if "--overlap" in extra else 1
                cuts = set(range(16, len(f) - 1, 4 * (5 - K)))
                seams.append(float(np.mean([steps[t] for t in cuts])))
                inside.append(float(np.mean([s for t, s in enumerate(steps) if t not in cuts])))
                continue
            # The input (B) starts at frame k; forward, the new frames start at 17.
            k = {"back": 8, "forward": 17, "connect": len(f) - 17}[mode]
            seams.append(steps[k - 1])
            first = 0 if mode == "forward" else k
            inside.append(float(np.mean(steps[first:first + 16])))
        print(json.dumps({"mode": mode, "args": extra, "seam": round(float(np.mean(seams)), 2),
                          "inside": round(float(np.mean(inside)), 2),
                          "within": f"{sum(s <= m for s, m in zip(seams, inside))}/{len(seams)}",
                          "per_clip": [round(s, 1) for s in seams],
                          "s_per_clip": round((time.time() - began) / len(entries), 1)}),
              flush=True)


if __name__ == "__main__":
    main()
