#!/usr/bin/env python3
"""Image and video prompts against issue 6's bars (docs/QUALITY.md), with the bundled model or
--model DIR:

- image-to-video: the first generated frame against the given image (PSNR), and against the
  image's autoencoder round trip; `cubist eval` on the clips;
- loop: the seam (last frame -> first frame) against the frame-to-frame change inside the clip;
- extension: the seam between the input and the extension against the change inside the input,
  forward (new frames after the input's end) and backward (before its start);
- connect: the true clip connected to itself (A = B): the seams out of A and into B against the
  change inside B;
- edit: the true clip edited (--edit, --strength S) under its caption with the first object's
  colour changed to one the clip does not have, by FlowEdit (--source-prompt: the clip's own
  caption) or SDEdit (--edit-method sdedit); `cubist eval` on the edited clips against the new
  caption: how often the new colour is found, and how often every other attribute is kept
  (bench/edit_eval.py measures edits alone, on more clips).

    python3 bench/prompt_modes_eval.py [--model DIR] [--clips 10] [--strength 1]
                                       [--edit-method flowedit|sdedit] [--out out/modes_eval]

Needs numpy and the ffmpeg command (frames are read as raw RGB)."""
import argparse
import json
import os
import shutil
import subprocess

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CUBIST = os.environ.get("CUBIST", os.path.join(ROOT, "build", "cubist"))  # $CUBIST: another build


def frames(path, w, h):
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", path, "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3).astype(np.float64)


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def rms(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


def run(*args):
    subprocess.run([CUBIST, *args], check=True, capture_output=True)


def held_out_clips(out, n, frames=17, folder="truth"):
    """The first n held-out clips of the benchmarks (seed 515151, 64x64, `frames` frames long,
    PNG frames under OUT/FOLDER): (the truth folder, their manifest entries). Clip i is a
    function of (seed, i), so a folder holding at least n of them is used as it is."""
    truth = os.path.join(out, folder)
    manifest = os.path.join(truth, "manifest.jsonl")
    if not os.path.exists(manifest) or sum(1 for _ in open(manifest)) < n:
        shutil.rmtree(truth, ignore_errors=True)
        run("data", "shapes", "--out", truth, "--clips", str(n), "--sizes", "64x64", "--frames",
            str(frames), "--seed", "515151", "--format", "png")
    return truth, [json.loads(l) for l in open(manifest)][:n]


def source_mp4(truth, entry, path, first=0, count=None):
    """A held-out clip, or its frames [first, first + count), as the video the modes take
    (H.264 at CRF 8, 4:4:4), written once."""
    if not os.path.exists(path):
        part = ["-start_number", str(first)] if first else []
        length = ["-frames:v", str(count)] if count is not None else []
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-framerate", "8", *part, "-i",
                        os.path.join(truth, entry["path"], "%06d.png"), *length, "-c:v",
                        "libx264", "-crf", "8", "-pix_fmt", "yuv444p", path], check=True)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="")
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--out", default="out/modes_eval")
    ap.add_argument("--steps", default="30")
    ap.add_argument("--strength", default="1")
    ap.add_argument("--edit-method", default="flowedit", choices=["flowedit", "sdedit"])
    a = ap.parse_args()
    model = ["--model", a.model] if a.model else []
    os.makedirs(a.out, exist_ok=True)
    w = h = 64
    truth, entries = held_out_clips(a.out, a.clips)

    i2v, i2v_rt, loops, ext, back, connect = [], [], [], [], [], []
    manifest = open(os.path.join(a.out, "i2v.jsonl"), "w")
    edits = open(os.path.join(a.out, "edit.jsonl"), "w")
    for i, e in enumerate(entries):
        clip = os.path.join(truth, e["path"])
        first = os.path.join(clip, "000000.png")
        common = ["--size", f"{w}x{h}", "--steps", a.steps, "--seed", str(i), *model]
        # Image to video, conditioned on the clip's own caption.
        out = os.path.join(a.out, f"i2v_{i:03d}.mp4")
        run("generate", e["caption"], "--no-expand", "--image", first, "--frames", "17",
            "-o", out, *common)
        g = frames(out, w, h)
        img = frames(first, w, h)[0]
        i2v.append(psnr(g[0], img))
        lat = os.path.join(a.out, f"img_{i:03d}.safetensors")
        rt = os.path.join(a.out, f"img_{i:03d}_rt.png")
        run("vae", "encode", first, "-o", lat, *model_vae(a.model))
        run("vae", "decode", lat, "-o", rt, *model_vae(a.model))
        i2v_rt.append(psnr(g[0], frames(rt, w, h)[0]))
        manifest.write(json.dumps({"path": os.path.basename(out), "caption": e["caption"]}) + "\n")
        # Loop: the seam against the changes inside the clip.
        out = os.path.join(a.out, f"loop_{i:03d}.mp4")
        run("generate", e["caption"], "--no-expand", "--loop", "--frames", "28", "-o", out,
            *common)
        f = frames(out, w, h)
        inside = np.mean([rms(f[t], f[t + 1]) for t in range(len(f) - 1)])
        loops.append((rms(f[-1], f[0]), inside))
        # Extension of the true clip: the seam against the changes inside the input.
        src = source_mp4(truth, e, os.path.join(a.out, f"src_{i:03d}.mp4"))
        out = os.path.join(a.out, f"ext_{i:03d}.mp4")
        run("generate", e["caption"], "--no-expand", "--extend", src, "--frames", "8", "-o", out,
            *common)
        f = frames(out, w, h)
        inside = np.mean([rms(f[t], f[t + 1]) for t in range(16)])
        ext.append((rms(f[16], f[17]), inside))
        # Backward: 8 new frames before the input's 17, which hold the new frames' last ones.
        out = os.path.join(a.out, f"back_{i:03d}.mp4")
        run("generate", e["caption"], "--no-expand", "--extend", src, "--direction", "backward",
            "--frames", "8", "-o", out, *common)
        f = frames(out, w, h)
        inside = np.mean([rms(f[t], f[t + 1]) for t in range(8, 24)])
        back.append((rms(f[7], f[8]), inside))
        # Connect the true clip to itself: a passage from its end to its start, then the clip.
        out = os.path.join(a.out, f"connect_{i:03d}.mp4")
        run("generate", e["caption"], "--no-expand", "--connect", src, src, "-o", out, *common)
        f = frames(out, w, h)
        n = len(f) - 17  # the second copy starts here
        inside = np.mean([rms(f[t], f[t + 1]) for t in range(n, len(f) - 1)])
        connect.append((rms(f[n - 1], f[n]), rms(f[16], f[17]), inside))
        # Edit of the true clip: the first object's colour changed in the prompt.
        caption = recolour_first(e["caption"])
        out = os.path.join(a.out, f"edit_{i:03d}.mp4")
        source = ["--source-prompt", e["caption"]] if a.edit_method == "flowedit" else []
        run("generate", caption, "--no-expand", "--edit", src, "--strength", a.strength, *source,
            "-o", out, *common)
        edits.write(json.dumps({"path": os.path.basename(out), "caption": caption}) + "\n")
    manifest.close()
    edits.close()
    checker = subprocess.run([CUBIST, "eval", "--manifest", os.path.join(a.out, "i2v.jsonl"),
                              "--quiet"], capture_output=True, text=True).stdout.strip()
    print(json.dumps({
        "clips": len(entries),
        "image_to_video_first_frame_psnr_vs_image": round(float(np.mean(i2v)), 2),
        "image_to_video_first_frame_psnr_vs_vae_round_trip": round(float(np.mean(i2v_rt)), 2),
        "image_to_video_checker": json.loads(checker)["summary"] if checker else None,
        "loop_seam_rms": round(float(np.mean([s for s, _ in loops])), 2),
        "loop_inside_rms": round(float(np.mean([m for _, m in loops])), 2),
        "loops_seam_within_inside": int(sum(s <= m for s, m in loops)),
        "extension_seam_rms": round(float(np.mean([s for s, _ in ext])), 2),
        "extension_inside_rms": round(float(np.mean([m for _, m in ext])), 2),
        "backward_extension_seam_rms": round(float(np.mean([s for s, _ in back])), 2),
        "backward_extension_inside_rms": round(float(np.mean([m for _, m in back])), 2),
        "connect_seam_into_b_rms": round(float(np.mean([s for s, _, _ in connect])), 2),
        "connect_seam_out_of_a_rms": round(float(np.mean([s for _, s, _ in connect])), 2),
        "connect_inside_rms": round(float(np.mean([m for _, _, m in connect])), 2),
        "edit_method": a.edit_method,
        "edit_strength": float(a.strength),
        **edit_scores(os.path.join(a.out, "edit.jsonl")),
    }, indent=1))


COLOURS = ["red", "green", "blue", "yellow", "magenta", "cyan", "orange", "white"]


def recolour_first(caption):
    """The caption with its first object's colour replaced by the next palette colour that no
    object of the clip has (Shapes World gives every object its own colour)."""
    words = caption.split(" ")
    first = next(i for i, w in enumerate(words) if w in COLOURS)
    used = {w for w in words if w in COLOURS}
    k = COLOURS.index(words[first])
    words[first] = next(c for c in COLOURS[k + 1:] + COLOURS[:k] if c not in used)
    return " ".join(words)


def edit_scores(manifest):
    """Share of edited clips where the checker finds the new colour (object 1's), and where it
    finds every other attribute right as well."""
    out = subprocess.run([CUBIST, "eval", "--manifest", manifest], capture_output=True,
                         text=True).stdout.strip().splitlines()
    clips = [json.loads(l) for l in out if l.startswith('{"path"')]
    new = [any(t["name"] == "object 1 colour" and t["ok"] for t in c["attributes"]) for c in clips]
    kept = [all(t["ok"] for t in c["attributes"] if t["name"] != "object 1 colour") for c in clips]
    return {"edit_new_colour_found": f"{sum(new)}/{len(clips)}",
            "edit_others_kept": f"{sum(kept)}/{len(clips)}"}


def model_vae(model_dir):
    return ["--model", os.path.join(model_dir, "vae.safetensors")] if model_dir else []


if __name__ == "__main__":
    main()
