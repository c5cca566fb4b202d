"""One DiT block in Cubist and in PyTorch, side by side in one run, with the ratio.

    python3 bench/block.py [--tokens 1024 4096] [--hidden 384] [--heads 6] [--iters 5]

Cubist: `build/cubist bench block ...` (one JSON line). PyTorch: the same block (adaLN-Zero from a
conditioning vector, self-attention, MLP ratio 4; f32) written as DiT's models.py writes it, at its
strongest on this machine: Debian's python3-torch on OpenBLAS's OpenMP build with the AVX-512
kernels selected (OPENBLAS_CORETYPE=SkylakeX, set for the PyTorch process only) and one intra-op
thread per core. PyTorch 1.13 has no fused attention on CPU, so attention is softmax(QK^T)V.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

TORCH_SIDE = r'''
import json, sys, time, resource
import torch
import torch.nn as nn
import torch.nn.functional as F

hidden, heads, tokens, iters, threads = (int(a) for a in sys.argv[1:6])
torch.set_num_threads(threads)
torch.manual_seed(0)

def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)

class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
    def forward(self, x):
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = torch.softmax(q @ k.transpose(-2, -1) * (d // self.heads) ** -0.5, dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, d))

class DiTBlock(nn.Module):
    def __init__(self, dim, heads, ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * ratio)), nn.GELU(approximate="tanh"),
                                 nn.Linear(int(dim * ratio), dim))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
    def forward(self, x, c):
        s1, sc1, g1, s2, sc2, g2 = self.ada(c).chunk(6, dim=1)
        x = x + g1.unsqueeze(1) * self.attn(modulate(self.norm1(x), s1, sc1))
        return x + g2.unsqueeze(1) * self.mlp(modulate(self.norm2(x), s2, sc2))

block = DiTBlock(hidden, heads)
x = torch.randn(1, tokens, hidden, requires_grad=True)
c = torch.randn(1, hidden, requires_grad=True)

def timed(f):
    f()
    ts = []
    for _ in range(iters):
        t = time.perf_counter(); f(); ts.append((time.perf_counter() - t) * 1e3)
    return sorted(ts)[len(ts) // 2]

def fwd():
    with torch.no_grad():
        block(x, c)

def fwd_bwd():
    block(x, c).sum().backward()

f = timed(fwd)
fb = timed(fwd_bwd)
print(json.dumps({"fwd_ms": f, "fwd_bwd_ms": fb,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "torch": torch.__version__, "threads": torch.get_num_threads()}))
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, nargs="+", default=[1024, 4096])
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--cubist", default=os.path.join(ROOT, "build", "cubist"))
    a = ap.parse_args()
    torch_env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX")
    ours_env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    print(f"{'tokens':>7} {'cubist fwd':>11} {'torch fwd':>10} {'ratio':>6} "
          f"{'cubist f+b':>11} {'torch f+b':>10} {'ratio':>6}")
    for n in a.tokens:
        ours = json.loads(subprocess.check_output(
            [a.cubist, "bench", "block", "--hidden", str(a.hidden), "--heads", str(a.heads),
             "--tokens", str(n), "--iters", str(a.iters)], env=ours_env))
        theirs = json.loads(subprocess.check_output(
            ["/usr/bin/python3", "-c", TORCH_SIDE, str(a.hidden), str(a.heads), str(n),
             str(a.iters), str(a.threads)], env=torch_env))
        rf = theirs["fwd_ms"] / ours["fwd_ms"]
        rb = theirs["fwd_bwd_ms"] / ours["fwd_bwd_ms"]
        print(f"{n:>7} {ours['fwd_ms']:>9.1f}ms {theirs['fwd_ms']:>8.1f}ms {rf:>5.2f}x "
              f"{ours['fwd_bwd_ms']:>9.1f}ms {theirs['fwd_bwd_ms']:>8.1f}ms {rb:>5.2f}x")
        print(json.dumps({"tokens": n, "cubist": ours, "torch": theirs,
                          "speedup_fwd": rf, "speedup_fwd_bwd": rb}), file=sys.stderr)


if __name__ == "__main__":
    main()
