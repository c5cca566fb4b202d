#!/usr/bin/env python3
"""Edits against issue 6's bar (docs/QUALITY.md, "Edits"): held-out Shapes World clips edited
under their own caption with one attribute changed, SDEdit (--edit IN --strength S) against
FlowEdit (the same, with --source-prompt set to the clip's own caption), judged by `cubist eval`
against the new caption: how often the new attribute is found, and how often every other
attribute is still right.

    python3 bench/edit_eval.py [--model DIR] [--clips 20] [--change colour|motion]
                               [--methods sdedit:0.7,flowedit:1] [--out out/edit_eval]

A method is NAME:STRENGTH (sdedit:0.7, flowedit:1; image:1 animates the clip's first frame
under the new caption instead, `--image`, for comparison). The clips
(seed 515151, 64x64, 17 frames) are those of bench/prompt_modes_eval.py. The change: `colour`
gives the first object the next palette colour that no object of the clip has; `motion` gives
it the next motion that it can have (circles do not spin); `none` keeps the caption, which
measures what the autoencoder's round trip keeps (FlowEdit then returns the input's latents).
Needs numpy and the ffmpeg command."""
import argparse
import json
import os
import subprocess
import time

from prompt_modes_eval import CUBIST, held_out_clips, recolour_first, run, source_mp4

MOTIONS = ["moving left", "moving right", "moving up", "moving down", "bouncing", "spinning",
           "standing still"]


def remotion_first(caption):
    """The caption with its first object's motion replaced by the next motion it can have."""
    motion, (start, end) = motion_spans(caption)[0]
    words = caption[:start].split(" ")
    is_circle = "circle" in words[-4:]
    k = MOTIONS.index(motion)
    new = next(m for m in MOTIONS[k + 1:] + MOTIONS[:k] if not (is_circle and m == "spinning"))
    return caption[:start] + new + caption[end:]


def motion_spans(caption):
    """(motion, (start, end)) of each object's motion in a canonical caption, in order."""
    out = []
    pos = 0
    while True:
        hits = [(caption.find(m, pos), m) for m in MOTIONS if caption.find(m, pos) >= 0]
        if not hits:
            return out
        start, m = min(hits)
        out.append((m, (start, start + len(m))))
        pos = start + len(m)


def judge(manifest, changed):
    out = subprocess.run([CUBIST, "eval", "--manifest", manifest], capture_output=True,
                         text=True).stdout.strip().splitlines()
    clips = [json.loads(l) for l in out if l.startswith('{"path"')]
    new = [any(t["name"] == changed and t["ok"] for t in c["attributes"]) for c in clips]
    kept = [all(t["ok"] for t in c["attributes"] if t["name"] != changed) for c in clips]
    both = [n and k for n, k in zip(new, kept)]
    return {"new_found": sum(new), "others_kept": sum(kept), "both": sum(both),
            "clips": len(clips)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="")
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--change", default="colour", choices=["colour", "motion", "none"])
    ap.add_argument("--methods", default="sdedit:0.7,flowedit:1")
    ap.add_argument("--steps", default="30")
    ap.add_argument("--guidance", default="5")
    ap.add_argument("--out", default="out/edit_eval")
    a = ap.parse_args()
    model = ["--model", a.model] if a.model else []
    os.makedirs(a.out, exist_ok=True)
    truth, entries = held_out_clips(a.out, a.clips)
    change = {"colour": recolour_first, "motion": remotion_first, "none": lambda c: c}[a.change]
    changed = {"colour": "object 1 colour", "motion": "object 1 motion", "none": ""}[a.change]
    results = {}
    for method in a.methods.split(","):
        name, strength = method.split(":")
        tag = method.replace(":", "_")
        manifest = os.path.join(a.out, f"{a.change}_{tag}.jsonl")
        began = time.time()
        with open(manifest, "w") as m:
            for i, e in enumerate(entries):
                src = source_mp4(truth, e, os.path.join(a.out, f"src_{i:03d}.mp4"))
                caption = change(e["caption"])
                out = os.path.join(a.out, f"{a.change}_{tag}_{i:03d}.mp4")
                how = ["--edit", src, "--strength", strength]
                if name == "flowedit":
                    how += ["--source-prompt", e["caption"]]
                if name == "image":  # not an edit: the clip's first frame animated anew
                    how = ["--image", src, "--frames", "17"]
                run("generate", caption, "--no-expand", *how, "--steps", a.steps, "--guidance",
                    a.guidance, "--seed", str(i), "-o", out, *model)
                m.write(json.dumps({"path": os.path.basename(out), "caption": caption}) + "\n")
        results[method] = {**judge(manifest, changed),
                           "s_per_clip": round((time.time() - began) / len(entries), 2)}
        print(method, json.dumps(results[method]), flush=True)
    print(json.dumps({"change": a.change, "results": results}, indent=1))


if __name__ == "__main__":
    main()
