#!/usr/bin/env python3
"""The seams of extensions, connections and loops alone (the measures of
bench/prompt_modes_eval.py, on more clips and faster): held-out Shapes World clips (seed 515151,
64x64, 17 frames; those of prompt_modes_eval.py and edit_eval.py), each extended backward
(`back`) or forward (`forward`) by 8 frames and connected to itself (`connect`), or made from its
caption alone as a 65-frame clip, 17-frame windows chained (`long`), or as a 28-frame loop
(`loop`), 30 Heun steps, seed = clip index. Arguments after `--` go to `cubist generate`
(--seam-guidance 0); $CUBIST names another build to compare. Prints, per mode:

- seam / inside: the RMS change (0-255) at the seam against the mean change inside the input
  (`long`: at the steps from one window into the next against every other step; `loop`: last
  frame to first against the clip's steps; `largest_inside`: the mean of each loop's largest
  step, where a join would show), on average and per clip; for `long` also
  `other_latent_boundaries`, the mean step where one latent frame's frames meet the next's
  elsewhere in the clip (the seams fall at such places, where the decoder's steps are larger);
- the motion across the seam, from where `cubist eval --tracks` sees each caption object: a line
  fitted to its centre over the 4 frames before the seam and one over the 4 frames from it;
  `jump` is how far (px) the first frame after the seam is from where the line before puts it,
  `dv` how much the velocity changes (px/frame; objects move 1 px/frame at 64x64, a bounce
  changes the velocity by 1/4 px/frame each frame), and `continues` the share of objects with
  jump <= 1.5 px and dv <= 0.5 px/frame (an object not seen on all 8 frames does not). The same at
  a cut inside the input (8 frames into it; `long`: 8 frames before each seam) is the tracker's
  own baseline. Not for loops: a moving object cannot continue from a loop's end to its start.
  `straight` is the same share among the objects whose truth is a straight line across the seam:
  not those bouncing (a bounce turns the velocity round, and the line fits cannot follow it) and
  not those whose line, carried over the new frames next to the seam, leaves the frame (Shapes
  World keeps every object inside, so such a continuation does not exist and the model, which
  learned that, turns the object round); `bounces` and `leaves` count those left out.

`gap` connects two videos that have a true passage between them: A and B are frames 0-8 and
21-32 of one held-out 33-frame clip (seed 515151; Shapes World's longest), and the connection's
12 new frames stand where the clip's frames 9-20 were. (Connecting a clip to itself, `connect`, asks for a passage that
Shapes World cannot have: an object moving at 1 px/frame is 16 px from where it started after
17 frames, and 12 frames cannot bring it back and leave it moving on into B.) Its motion is
measured at both seams, out of A (frame 9) and into B (frame 21), against the truth's own
motion at the same cuts (the tracker on the true clip), and `passage_rms` is the new frames'
RMS difference from the true frames 9-20.

    python3 bench/seam_eval.py [--clips 10] [--modes back,connect,forward,long,loop,gap]
                               [--out out/seam_eval] [-- ARGS]

Needs numpy and the ffmpeg command."""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from prompt_modes_eval import CUBIST, frames, held_out_clips, rms, source_mp4

GAP = (9, 21, 33)  # gap mode: A is frames [0, 9), the passage [9, 21), B [21, 33)


def gap_mode(a, extra):
    """The `gap` mode: connections of two cuts of one clip, against the frames between them."""
    a_end, b_start, total = GAP
    truth, entries = held_out_clips(a.out, a.clips, frames=total, folder="truth33")
    measures = {"out_of_A": [], "into_B": []}
    true_measures = {"out_of_A": [], "into_B": []}
    bounce, passage, seams, inside = [], [], [], []
    began = time.time()
    for i, e in enumerate(entries):
        src_a = source_mp4(truth, e, os.path.join(a.out, f"gapA_{i:03d}.mp4"), 0, a_end)
        src_b = source_mp4(truth, e, os.path.join(a.out, f"gapB_{i:03d}.mp4"), b_start,
                           total - b_start)
        whole = source_mp4(truth, e, os.path.join(a.out, f"gapT_{i:03d}.mp4"))
        out = os.path.join(a.out, f"gap_{i:03d}.mp4")
        subprocess.run([CUBIST, "generate", e["caption"], "--no-expand", "--connect", src_a,
                        src_b, "--size", "64x64", "--steps", "30", "--seed", str(i), "-o", out,
                        *extra], check=True, capture_output=True)
        f, t = frames(out, 64, 64), frames(whole, 64, 64)
        if len(f) != total:
            sys.exit(f"gap: the connection has {len(f)} frames, not {total} (give a 17-frame "
                     "window: the passage must be 12 frames)")
        passage.append(float(np.mean([rms(f[k], t[k]) for k in range(a_end, b_start)])))
        steps = [rms(f[k], f[k + 1]) for k in range(total - 1)]
        seams.append(steps[b_start - 1])
        inside.append(float(np.mean(steps[b_start:])))
        got, true = check(out, e["caption"]), check(whole, e["caption"])
        objs = objects(true)
        bounce += [o[0] == "bouncing" for o in objs]
        for name, cut in (("out_of_A", a_end), ("into_B", b_start)):
            measures[name] += [motion_across(o, cut) for o in tracks(got)]
            true_measures[name] += [motion_across(o, cut) for o in tracks(true)]
    summary = {}
    for name in measures:
        m, tm = measures[name], true_measures[name]
        summary[name] = {
            "continues": f"{sum(map(continues, m))}/{len(m)}",
            "continues_in_truth": f"{sum(map(continues, tm))}/{len(tm)}",
            "where_truth_continues": f"{sum(continues(x) for x, y in zip(m, tm) if continues(y))}"
                                     f"/{sum(map(continues, tm))}",
            "straight": f"{sum(continues(x) for x, b in zip(m, bounce) if not b)}"
                        f"/{bounce.count(False)}",
            # Per object, for comparing two runs object by object: 1 continues, 0 does not,
            # - the truth does not continue either.
            "each": "".join("-" if not continues(y) else "1" if continues(x) else "0"
                            for x, y in zip(m, tm))}
    print(json.dumps({"mode": "gap", "args": extra, "seam_into_B": round(float(np.mean(seams)), 2),
                      "inside_B": round(float(np.mean(inside)), 2),
                      "within": f"{sum(s <= m for s, m in zip(seams, inside))}/{len(seams)}",
                      "passage_rms": round(float(np.mean(passage)), 2),
                      "per_clip_passage_rms": [round(p, 1) for p in passage], **summary,
                      "s_per_clip": round((time.time() - began) / len(entries), 1)}), flush=True)


def check(video, caption):
    """`cubist eval --tracks` of the video against the caption: its verdicts and tracks (JSON)."""
    return json.loads(subprocess.run([CUBIST, "eval", "--video", video, "--caption", caption,
                                      "--tracks"], check=True, capture_output=True,
                                     text=True).stdout)


def tracks(checked):
    """Per caption object of a check(), {frame: (x, y)} where the checker saw it."""
    return [{f: (x, y) for f, x, y in zip(t["frame"], t["x"], t["y"])}
            for t in checked["tracks"]]


def motion_across(track, cut):
    """(jump px, velocity change px/frame) of one object's track across the cut before frame
    `cut`, or None when it is not seen on all of frames cut-4 .. cut+3."""
    if any(f not in track for f in range(cut - 4, cut + 4)):
        return None
    p = np.array([track[f] for f in range(cut - 4, cut + 4)])
    t = np.arange(-4, 4, dtype=np.float64)
    before = [np.polyfit(t[:4], p[:4, d], 1) for d in range(2)]  # (velocity, intercept) in x, y
    after = [np.polyfit(t[4:], p[4:, d], 1) for d in range(2)]
    jump = np.hypot(*(p[4, d] - np.polyval(before[d], 0.0) for d in range(2)))
    dv = np.hypot(*(after[d][0] - before[d][0] for d in range(2)))
    return float(jump), float(dv)


# Shapes World's motions as unit directions (x right, y down); sizes as fractions of min(W, H).
DIRECTIONS = {"moving left": (-1, 0), "moving right": (1, 0), "moving up": (0, -1),
              "moving down": (0, 1)}
SIZES = {"small": 0.18, "large": 0.32}


def objects(checked):
    """Per caption object of a check(), (motion, size) as the caption asks them."""
    asked = {a["name"]: a["expected"] for a in checked["attributes"]}
    return [(asked[f"object {t['object']} motion"], asked[f"object {t['object']} size"])
            for t in checked["tracks"]]


def kind(obj, track, seam, frames, side=64):
    """Whether an object's truth across the seam before frame `seam` is a straight line:
    "bounces", "leaves" (its line, carried `frames` frames away from the seam into the new
    frames, takes it out of a side x side frame; negative: the new frames precede the seam) or
    "straight". Objects move side/64 px a frame."""
    motion, size = obj
    if motion == "bouncing":
        return "bounces"
    at = seam - 1 if frames > 0 else seam  # the last frame on the given side of the seam
    if motion not in DIRECTIONS or at not in track or frames == 0:
        return "straight"
    half = round(SIZES[size] * side) / 2
    x, y = (c + d * frames * side / 64 for c, d in zip(track[at], DIRECTIONS[motion]))
    inside = half <= x <= side - half and half <= y <= side - half
    return "straight" if inside else "leaves"


def continues(m):
    return m is not None and m[0] <= 1.5 and m[1] <= 0.5


def motion_summary(measures, kinds):
    """Means over the objects followed, the share that continues (lost objects count) and the
    share among those whose truth is a straight line (kinds, per measure)."""
    seen = [m for m in measures if m is not None]
    straight = [m for m, k in zip(measures, kinds) if k == "straight"]
    return {"jump": round(float(np.mean([m[0] for m in seen])), 2) if seen else None,
            "dv": round(float(np.mean([m[1] for m in seen])), 2) if seen else None,
            "continues": f"{sum(map(continues, measures))}/{len(measures)}",
            "straight": f"{sum(map(continues, straight))}/{len(straight)}",
            "bounces": kinds.count("bounces"), "leaves": kinds.count("leaves")}


def main():
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--modes", default="back,connect,forward")
    ap.add_argument("--out", default="out/seam_eval")
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    os.makedirs(a.out, exist_ok=True)
    modes = a.modes.split(",")
    if "gap" in modes:
        gap_mode(a, extra)
        modes.remove("gap")
    if not modes:
        return
    truth, entries = held_out_clips(a.out, a.clips)
    for mode in modes:
        seams, inside, at_seam, at_inside, seam_kinds, inside_kinds = [], [], [], [], [], []
        largest, boundaries = [], []
        began = time.time()
        for i, e in enumerate(entries):
            src = source_mp4(truth, e, os.path.join(a.out, f"src_{i:03d}.mp4"))
            out = os.path.join(a.out, f"{mode}_{i:03d}.mp4")
            how = {"back": ["--extend", src, "--direction", "backward", "--frames", "8"],
                   "forward": ["--extend", src, "--frames", "8"],
                   "connect": ["--connect", src, src], "long": ["--frames", "65"],
                   "loop": ["--loop", "--frames", "28"]}[mode]
            subprocess.run([CUBIST, "generate", e["caption"], "--no-expand", *how, "--size",
                            "64x64", "--steps", "30", "--seed", str(i), "-o", out, *extra],
                           check=True, capture_output=True)
            f = frames(out, 64, 64)
            steps = [rms(f[t], f[t + 1]) for t in range(len(f) - 1)]
            if mode == "loop":
                seams.append(rms(f[-1], f[0]))
                inside.append(float(np.mean(steps)))
                largest.append(max(steps))
                continue
            checked = check(out, e["caption"])
            tr, objs = tracks(checked), objects(checked)
            if mode == "long":  # windows of 5 latent frames: each adds 4 (5 - K) frames
                K = int(extra[extra.index("--overlap") + 1]) if "--overlap" in extra else 1
                cuts = set(range(16, len(f) - 1, 4 * (5 - K)))
                seams.append(float(np.mean([steps[t] for t in cuts])))
                inside.append(float(np.mean([s for t, s in enumerate(steps) if t not in cuts])))
                # Window seams fall where one latent frame's 4 frames meet the next's, where
                # the decoder's steps are larger anyway: the other such steps are their baseline.
                boundaries.append(float(np.mean([s for t, s in enumerate(steps)
                                                 if t % 4 == 0 and t > 0 and t not in cuts])))
                for t in sorted(cuts):
                    at_seam += [motion_across(o, t + 1) for o in tr]
                    at_inside += [motion_across(o, t + 1 - 8) for o in tr]
                    seam_kinds += [kind(b, o, t + 1, 4 * (5 - K)) for b, o in zip(objs, tr)]
                    inside_kinds += [kind(b, o, t + 1 - 8, 0) for b, o in zip(objs, tr)]
                continue
            # The input (B) starts at frame k; forward, the new frames start at 17.
            k = {"back": 8, "forward": 17, "connect": len(f) - 17}[mode]
            seams.append(steps[k - 1])
            first = 0 if mode == "forward" else k
            inside.append(float(np.mean(steps[first:first + 16])))
            at_seam += [motion_across(o, k) for o in tr]
            at_inside += [motion_across(o, first + 8) for o in tr]
            # The new frames next to the seam: forward the 8 after it, else the ones before it.
            new = {"forward": 8, "back": -8, "connect": -(k - 17)}[mode]
            seam_kinds += [kind(b, o, k, new) for b, o in zip(objs, tr)]
            inside_kinds += [kind(b, o, first + 8, 0) for b, o in zip(objs, tr)]
        print(json.dumps({"mode": mode, "args": extra, "seam": round(float(np.mean(seams)), 2),
                          "inside": round(float(np.mean(inside)), 2),
                          "within": f"{sum(s <= m for s, m in zip(seams, inside))}/{len(seams)}",
                          "per_clip": [round(s, 1) for s in seams],
                          **({"largest_inside": round(float(np.mean(largest)), 2)}
                             if largest else {}),
                          **({"other_latent_boundaries": round(float(np.mean(boundaries)), 2)}
                             if boundaries else {}),
                          **({"motion_at_seam": motion_summary(at_seam, seam_kinds),
                              "motion_inside": motion_summary(at_inside, inside_kinds)}
                             if at_seam else {}),
                          "s_per_clip": round((time.time() - began) / len(entries), 1)}),
              flush=True)


if __name__ == "__main__":
    main()
