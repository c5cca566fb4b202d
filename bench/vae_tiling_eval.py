#!/usr/bin/env python3
"""Spatial tiling of the autoencoder (docs/VAE.md, "Tiles"): held-out Shapes World clips encoded
and decoded whole (`--tile 0`) and in tiles of each given size, side by side: reconstruction
PSNR against the clip, PSNR of the tiled reconstruction against the whole one, and how many
reconstructions `cubist eval` judges fully right.

    python3 bench/vae_tiling_eval.py [--model VAE] [--clips 8] [--size 256x256] [--frames 17]
                                     [--tiles 128,128:64,64] [--out out/vae_tiling]

--tiles lists tile sides in pixels, each optionally with its overlap (TILE:OVERLAP; default
the CLI's, a quarter of the tile).

Needs numpy and the ffmpeg command (frames are read as raw RGB)."""
import argparse
import json
import os
import subprocess

import numpy as np

from prompt_modes_eval import CUBIST, frames, psnr


def run(*args):
    subprocess.run([CUBIST, *args], check=True, capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="")
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--size", default="256x256")
    ap.add_argument("--frames", default="17")
    ap.add_argument("--tiles", default="128,128:64,64")
    ap.add_argument("--seed", default="777001")
    ap.add_argument("--out", default="out/vae_tiling")
    a = ap.parse_args()
    model = ["--model", a.model] if a.model else []
    w, h = map(int, a.size.split("x"))
    truth = os.path.join(a.out, "truth")
    if not os.path.exists(os.path.join(truth, "manifest.jsonl")):
        run("data", "shapes", "--out", truth, "--clips", str(a.clips), "--sizes", a.size,
            "--frames", a.frames, "--seed", a.seed, "--format", "png")
    entries = [json.loads(l) for l in open(os.path.join(truth, "manifest.jsonl"))][:a.clips]
    tiles = ["0"] + a.tiles.split(",")
    results = {}
    for tile in tiles:
        side, _, overlap = tile.partition(":")
        flags = ["--tile", side] + (["--tile-overlap", overlap] if overlap else [])
        folder = os.path.join(a.out, f"tile{tile.replace(':', '_')}")
        os.makedirs(folder, exist_ok=True)
        manifest = open(os.path.join(folder, "recon.jsonl"), "w")
        scores, vs_whole = [], []
        for i, e in enumerate(entries):
            clip = os.path.join(truth, e["path"])
            lat = os.path.join(folder, f"{i:03d}.safetensors")
            rec = os.path.join(folder, f"{i:03d}")  # a folder of PNG frames: lossless
            run("vae", "encode", clip, "-o", lat, *flags, *model)
            run("vae", "decode", lat, "-o", rec, *flags, *model)
            got = frames(os.path.join(rec, "%06d.png"), w, h)
            scores.append(psnr(got, frames(os.path.join(clip, "%06d.png"), w, h)))
            if tile != "0":
                whole = os.path.join(a.out, "tile0", f"{i:03d}", "%06d.png")
                vs_whole.append(psnr(got, frames(whole, w, h)))
            manifest.write(json.dumps({"path": f"{i:03d}", "caption": e["caption"]}) + "\n")
        manifest.close()
        checker = subprocess.run([CUBIST, "eval", "--manifest", manifest.name, "--quiet"],
                                 capture_output=True, text=True).stdout.strip()
        summary = json.loads(checker)["summary"] if checker else {}
        results[tile] = {
            "psnr_db": round(float(np.mean(scores)), 2),
            "psnr_db_min": round(float(np.min(scores)), 2),
            "psnr_vs_whole_db": round(float(np.mean(vs_whole)), 2) if vs_whole else None,
            "checker_right": f"{summary.get('clips_ok')}/{summary.get('clips')}",
        }
        print(f"tile {tile if tile != '0' else 'whole'}: {json.dumps(results[tile])}", flush=True)
    print(json.dumps({"size": a.size, "frames": a.frames, "clips": len(entries),
                      "results": results}, indent=1))


if __name__ == "__main__":
    main()
