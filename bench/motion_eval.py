#!/usr/bin/env python3
"""Does the prompt steer the direction of motion? For K one-object scenes (size, colour, shape and
background drawn from --seed), the same scene is generated four times, "moving left", "right",
"up" and "down", under the same generation seed (the scene's index), so the four clips start from
the same noise and differ only by the word. `cubist eval --tracks` then says which way each
object went. Prints:

- the confusion of asked against found motion (`cubist eval`'s verdicts);
- axis: the share of clips whose object moves along the asked axis (left/right: x; up/down: y),
  and sign: of those, the share that go the asked way;
- opposite pairs: of the scenes whose left and right clips both move along x (and likewise up and
  down along y), the share where the two go opposite ways. A model that reads the direction
  word gives 100%; one that takes the direction from the noise gives the same clip twice (0%).

    python3 bench/motion_eval.py [--model DIR] [--scenes 10] [--seed 7] [--out out/motion_eval]
                                 [-- ARGS]

Arguments after `--` go to `cubist generate`; $CUBIST names another build. 64x64, 17 frames,
30 Heun steps, guidance 5 unless ARGS say otherwise."""
import argparse
import json
import os
import random
import subprocess
import sys
from collections import Counter

from prompt_modes_eval import CUBIST
from seam_eval import check, tracks

DIRECTIONS = {"left": (0, -1), "right": (0, 1), "up": (1, -1), "down": (1, 1)}  # (axis, sign)


def travel(track):
    """(dx, dy) from the first frame the object is seen on to the last, or None if unseen."""
    if len(track) < 2:
        return None
    frames = sorted(track)
    (x0, y0), (x1, y1) = track[frames[0]], track[frames[-1]]
    return x1 - x0, y1 - y0


def main():
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="")
    ap.add_argument("--scenes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="out/motion_eval")
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    confusion = Counter()
    on_axis = right_sign = 0
    opposite = {0: [0, 0], 1: [0, 0]}  # axis -> [pairs that go opposite ways, pairs on the axis]
    for i in range(a.scenes):
        obj = " ".join([rng.choice(["small", "large"]),
                        rng.choice(["red", "green", "blue", "yellow", "magenta", "cyan",
                                    "orange", "white"]),
                        rng.choice(["circle", "square", "triangle"])])
        background = rng.choice(["black", "gray", "navy", "brown"])
        moved = {}
        for word, (axis, sign) in DIRECTIONS.items():
            caption = f"a {obj} moving {word} on a {background} background"
            video = os.path.join(a.out, f"scene{i:03d}_{word}.mp4")
            subprocess.run([CUBIST, "generate", caption, "--no-expand", "--size", "64x64",
                            "--frames", "17", "--seed", str(i), "-o", video,
                            *(["--model", a.model] if a.model else []), *extra],
                           check=True, capture_output=True)
            checked = check(video, caption)
            found = next(a["found"] for a in checked["attributes"] if a["name"].endswith("motion"))
            confusion[(f"moving {word}", found)] += 1
            d = travel(tracks(checked)[0])
            # Along the axis: travel on it at least 8 px (half the world's 16) and twice the other.
            if d and abs(d[axis]) >= 8 and abs(d[axis]) >= 2 * abs(d[1 - axis]):
                on_axis += 1
                right_sign += (d[axis] > 0) == (sign > 0)
                moved[word] = d[axis]
        for axis, (neg, pos) in {0: ("left", "right"), 1: ("up", "down")}.items():
            if neg in moved and pos in moved:
                opposite[axis][1] += 1
                opposite[axis][0] += moved[neg] < 0 < moved[pos] or moved[pos] < 0 < moved[neg]
        print(f"\rscene {i + 1}/{a.scenes}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    clips = 4 * a.scenes
    print(json.dumps({
        "clips": clips, "args": extra,
        "found_as_asked": f"{sum(v for (e, f), v in confusion.items() if e == f)}/{clips}",
        "axis": f"{on_axis}/{clips}", "sign": f"{right_sign}/{on_axis}",
        "opposite_pairs": {"left-right": f"{opposite[0][0]}/{opposite[0][1]}",
                           "up-down": f"{opposite[1][0]}/{opposite[1][1]}"},
        "confusion": {f"{e} -> {f}": v for (e, f), v in sorted(confusion.items())}}))


if __name__ == "__main__":
    main()
