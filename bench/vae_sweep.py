"""Which autoencoder recipe reaches the reconstruction bar soonest: the architecture of
src/models/vae written in PyTorch (tests/torch_ref/ops_vae.py's figure, as trainable modules),
trained under several recipes side by side on the same Shapes World clips.

    bash bench/vae_sweep_data.sh .sweep/shapes64.npz     # the clips, rendered by Cubist
    /usr/bin/python3 bench/vae_sweep.py --data .sweep/shapes64.npz --out DIR --seconds 300 \
        --variants base,b8,b8_det,...                    # names from VARIANTS below

Each variant runs in its own process (all at once on one GPU, or one after another on a CPU) for
--seconds of wall time, and writes DIR/VARIANT.csv: clips seen, seconds, training MSE and the
held-out PSNR (mean over the held-out clips of each clip's PSNR, [0, 1] scale, reconstructions
clamped as `cubist vae` writes them) every --eval-every clips. Clips seen, not seconds, is the
axis that carries over to Cubist on a CPU: its time per clip is measured by bench_vae.

The data file holds "train" [N, T, 64, 64, 3] and "eval" [M, T', 64, 64, 3] uint8 clips rendered
by `cubist data shapes` (train and held-out sets from different seeds)."""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Every variant is the current default (configs/vae/shapes.json) plus these changes.
BASE = dict(channels=16, mults=[1, 2, 4, 4], blocks=1, groups=8, latent=16, batch=1, lr=2e-4,
            schedule="cosine", warmup=100, min_lr_ratio=0.05, kl=1e-6,
            posterior=True, loss="mse", norm_out=True, clip=1.0)
VARIANTS = {
    "base": {},
    "b8_lr2e-4": dict(batch=8),
    "b8": dict(batch=8, lr=5e-4),
    "b8_lr1e-3": dict(batch=8, lr=1e-3),
    "b8_det": dict(batch=8, lr=5e-4, posterior=False),
    "b8_l1": dict(batch=8, lr=5e-4, loss="l1"),
    "b8_c32": dict(batch=8, lr=5e-4, channels=32),
    "b8_blocks2": dict(batch=8, lr=5e-4, blocks=2),
    "b8_nonormout": dict(batch=8, lr=5e-4, norm_out=False),
    "b8_const": dict(batch=8, lr=5e-4, schedule="constant"),
    "b32_lr1e-3": dict(batch=32, lr=1e-3),
    "b8_det_l1_lr1e-3": dict(batch=8, lr=1e-3, posterior=False, loss="l1"),
}


def causal_pad(x, kt):
    return torch.cat([x[:, :, :1]] * (kt - 1) + [x], dim=2) if kt > 1 else x


class CausalConv(nn.Conv3d):
    def __init__(self, cin, cout, k=3, stride=(1, 1, 1)):
        super().__init__(cin, cout, k, stride=stride, padding=(0, k // 2, k // 2))

    def forward(self, x):
        return super().forward(causal_pad(x, self.kernel_size[0]))


class FrameNorm(nn.GroupNorm):
    """Group norm of each frame on its own, as Cubist's (never across time)."""

    def forward(self, x):
        b, c, t, h, w = x.shape
        f = x.transpose(1, 2).reshape(b * t, c, h, w)
        return super().forward(f).reshape(b, t, c, h, w).transpose(1, 2)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, g):
        super().__init__()
        self.norm1, self.conv1 = FrameNorm(g, cin, 1e-6), CausalConv(cin, cout)
        self.norm2, self.conv2 = FrameNorm(g, cout, 1e-6), CausalConv(cout, cout)
        self.skip = CausalConv(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class Vae(nn.Module):
    """4x in time (transitions 0 and 1), 8x in space (transitions 0, 1, 2), as configs/vae/shapes.json."""

    def __init__(self, v):
        super().__init__()
        ch = [v["channels"] * m for m in v["mults"]]
        g, n = v["groups"], len(ch)
        self.v = v
        enc = [CausalConv(3, ch[0])]
        for lv in range(n):
            for j in range(v["blocks"]):
                enc.append(ResBlock(ch[lv - 1] if (j == 0 and lv > 0) else ch[lv], ch[lv], g))
            if lv + 1 < n:
                enc.append(CausalConv(ch[lv], ch[lv], stride=(2 if lv < 2 else 1, 2, 2)))
        enc.append(ResBlock(ch[-1], ch[-1], g))
        if v["norm_out"]:
            enc += [FrameNorm(g, ch[-1], 1e-6), nn.SiLU()]
        out = CausalConv(ch[-1], 2 * v["latent"] if v["posterior"] else v["latent"])
        if v["posterior"]:
            with torch.no_grad():
                out.bias[v["latent"]:] = -6.0
        enc.append(out)
        self.encoder = nn.Sequential(*enc)
        self.dec_in = CausalConv(v["latent"], ch[-1])
        self.dec_mid = ResBlock(ch[-1], ch[-1], g)
        self.levels = nn.ModuleList()
        for lv in reversed(range(n)):
            blocks = nn.ModuleList(ResBlock(ch[lv], ch[lv], g) for _ in range(v["blocks"]))
            up = CausalConv(ch[lv], ch[lv - 1]) if lv > 0 else None
            self.levels.append(nn.ModuleList([blocks, up] if up is not None else [blocks]))
        tail = [FrameNorm(g, ch[0], 1e-6), nn.SiLU()] if v["norm_out"] else [nn.SiLU()]
        self.dec_out = nn.Sequential(*tail, CausalConv(ch[0], 3))

    def encode(self, x):
        m = self.encoder(x)
        if not self.v["posterior"]:
            return m, None
        lat = self.v["latent"]
        return m[:, :lat], m[:, lat:].clamp(-30, 20)

    def decode(self, z):
        h = self.dec_mid(self.dec_in(z))
        n = len(self.v["mults"])
        for i, level in enumerate(self.levels):
            lv = n - 1 - i
            for block in level[0]:
                h = block(h)
            if lv > 0:
                st = 2 if lv - 1 < 2 else 1
                h = F.interpolate(h, scale_factor=(st, 2, 2), mode="nearest")
                if st == 2:
                    h = h[:, :, 1:]
                h = level[1](h)
        return self.dec_out(h)


def lr_at(v, step, progress):
    """Warm-up over steps, then cosine decay over the run's share of its wall time (the sweep
    does not know its step count in advance; Cubist's schedule runs over --steps)."""
    if step < v["warmup"]:
        return v["lr"] * (step + 1) / v["warmup"]
    if v["schedule"] == "constant":
        return v["lr"]
    p = min(1.0, progress)
    return v["lr"] * (v["min_lr_ratio"] + (1 - v["min_lr_ratio"]) * 0.5 * (1 + math.cos(math.pi * p)))


def to_video(u8, device):
    x = torch.from_numpy(u8).to(device).float() / 127.5 - 1.0  # [B, T, H, W, 3]
    return x.permute(0, 4, 1, 2, 3).contiguous()


@torch.no_grad()
def held_out_psnr(model, clips, device):
    model.eval()
    out = []
    for i in range(0, len(clips), 8):
        x = to_video(clips[i:i + 8], device)
        mean, _ = model.encode(x)
        y = model.decode(mean).clamp(-1, 1)
        mse = ((y - x) / 2).pow(2).flatten(1).mean(1)
        out += (10 * torch.log10(1 / mse.clamp_min(1e-12))).tolist()
    model.train()
    return float(np.mean(out))


def run(name, args):
    v = dict(BASE, **VARIANTS[name])
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(1)
    data = np.load(args.data)
    train, held = data["train"], data["eval"][: args.eval_clips]
    model = Vae(v).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=v["lr"], betas=(0.9, 0.999), weight_decay=0.0)
    rng = np.random.default_rng(1)
    log = open(os.path.join(args.out, name + ".csv"), "w")
    log.write("clips,seconds,step,train_mse,val_psnr\n")
    params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {params / 1e6:.2f} M parameters, {json.dumps(VARIANTS[name])}", flush=True)
    start, step, clips, next_eval, mse_sum, mse_n = time.time(), 0, 0, 0, 0.0, 0
    while True:
        if clips >= next_eval or time.time() - start > args.seconds:
            if device == "cuda":
                torch.cuda.synchronize()
            psnr = held_out_psnr(model, held, device)
            mse = mse_sum / max(1, mse_n)
            log.write(f"{clips},{time.time() - start:.1f},{step},{mse:.6f},{psnr:.3f}\n")
            log.flush()
            mse_sum, mse_n = 0.0, 0
            next_eval += args.eval_every
            if time.time() - start > args.seconds:
                print(f"{name}: {clips} clips, {step} steps, held-out {psnr:.2f} dB", flush=True)
                return
        x = to_video(train[rng.integers(0, len(train), v["batch"])], device)
        mean, logvar = model.encode(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean) if v["posterior"] else mean
        y = model.decode(z)
        rec = F.mse_loss(y, x) if v["loss"] == "mse" else F.l1_loss(y, x)
        loss = rec
        if v["posterior"]:
            loss = loss + v["kl"] * 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean()
        else:
            loss = loss + v["kl"] * mean.pow(2).mean()
        for gr in opt.param_groups:
            gr["lr"] = lr_at(v, step, (time.time() - start) / args.seconds)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), v["clip"])
        opt.step()
        mse_sum += F.mse_loss(y.detach(), x).item() if step % 10 == 0 else 0.0
        mse_n += 1 if step % 10 == 0 else 0
        step += 1
        clips += v["batch"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--out")
    p.add_argument("--variants", default="base")
    p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--eval-every", type=int, default=2000)
    p.add_argument("--eval-clips", type=int, default=64)
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        return run(args.one, args)
    os.makedirs(args.out, exist_ok=True)
    names = args.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    parallel = torch.cuda.is_available()
    procs = []
    for n in names:
        cmd = [sys.executable, __file__, "--data", args.data, "--out", args.out, "--one", n,
               "--seconds", str(args.seconds), "--eval-every", str(args.eval_every),
               "--eval-clips", str(args.eval_clips)]
        procs.append(subprocess.Popen(cmd))
        if not parallel:
            procs[-1].wait()
    sys.exit(max(p.wait() for p in procs))


if __name__ == "__main__":
    main()
