#!/usr/bin/env python3
"""Image and video prompts against issue 6's bars (docs/QUALITY.md), with the bundled model or
--model DIR:

- image-to-video: the first generated frame against the given image (PSNR), and against the
  image's autoencoder round trip; `cubist eval` on the clips;
- loop: the seam (last frame -> first frame) against the frame-to-frame change inside the clip;
- extension: the seam between the input and the extension against the change inside the input.

    python3 bench/prompt_modes_eval.py [--model DIR] [--clips 10] [--out out/modes_eval]

Needs numpy and the ffmpeg command (frames are read as raw RGB)."""
import argparse
import json
import os
import subprocess

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CUBIST = os.path.join(ROOT, "build", "cubist")


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="")
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--out", default="out/modes_eval")
    ap.add_argument("--steps", default="30")
    a = ap.parse_args()
    model = ["--model", a.model] if a.model else []
    os.makedirs(a.out, exist_ok=True)
    w = h = 64
    truth = os.path.join(a.out, "truth")
    run("data", "shapes", "--out", truth, "--clips", str(a.clips), "--sizes", "64x64",
        "--frames", "17", "--seed", "515151", "--format", "png")
    entries = [json.loads(l) for l in open(os.path.join(truth, "manifest.jsonl"))]

    i2v, i2v_rt, loops, ext = [], [], [], []
    manifest = open(os.path.join(a.out, "i2v.jsonl"), "w")
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
        run("generate", e["caption"], "--no-expand", "--loop", "--frames", "17", "-o", out,
            *common)
        f = frames(out, w, h)
        inside = np.mean([rms(f[t], f[t + 1]) for t in range(len(f) - 1)])
        loops.append((rms(f[-1], f[0]), inside))
        # Extension of the true clip: the seam against the changes inside the input.
        src = os.path.join(a.out, f"src_{i:03d}.mp4")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-framerate", "8", "-i",
                        os.path.join(clip, "%06d.png"), "-c:v", "libx264", "-crf", "8",
                        "-pix_fmt", "yuv444p", src], check=True)
        out = os.path.join(a.out, f"ext_{i:03d}.mp4")
        run("generate", e["caption"], "--no-expand", "--extend", src, "--frames", "8", "-o", out,
            *common)
        f = frames(out, w, h)
        inside = np.mean([rms(f[t], f[t + 1]) for t in range(16)])
        ext.append((rms(f[16], f[17]), inside))
    manifest.close()
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
    }, indent=1))


def model_vae(model_dir):
    return ["--model", os.path.join(model_dir, "vae.safetensors")] if model_dir else []


if __name__ == "__main__":
    main()
