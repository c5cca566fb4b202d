"""Reference for the whole diffusion transformer (src/models/dit/dit.h) on the same weights:
patch embedding, timestep MLP, text encoder, DiT blocks with adaLN-Zero per clip, self-attention
with QK norm and 3-axis RoPE over packed clips, cross-attention to each clip's text, final layer.
Everything is written out with plain tensor ops in float64."""
import math

import torch
import torch.nn.functional as F

from registry import leaf, op

EPS = 1e-6


def csv(s):
    return [int(x) for x in s.split(",")] if s else []


def linear(p, name, x):
    return x @ p[name + ".weight"].T + p[name + ".bias"]


def gelu(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def mlp(p, name, x):
    return linear(p, name + ".fc2", gelu(linear(p, name + ".fc1", x)))


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def rope(x, pos, sections, theta):
    parts, o = [], 0
    for a, da in enumerate(sections):
        xa = x[..., o:o + da]
        i = torch.arange(da // 2, dtype=torch.float64)
        phi = pos[:, a:a + 1] * theta ** (-2.0 * i / da)
        c, s = torch.cos(phi)[:, None, :], torch.sin(phi)[:, None, :]
        x0, x1 = xa[..., 0::2], xa[..., 1::2]
        parts.append(torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1).flatten(-2))
        o += da
    return torch.cat(parts, dim=-1)


def attend(q, k, v, lq, lk):
    mask = torch.zeros(q.shape[0], k.shape[0], dtype=torch.bool)
    qa = ka = 0
    for a, b in zip(lq, lk):
        mask[qa:qa + a, ka:ka + b] = True
        qa, ka = qa + a, ka + b
    scores = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(q.shape[2])
    p = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return torch.einsum("hqk,khe->qhe", p, v)


def self_attention(p, name, x, pos, seqlens, heads, sections, theta):
    s, d = x.shape
    qkv = linear(p, name + ".qkv", x).reshape(s, 3, heads, d // heads)
    q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
    q, k = rms(q, p[name + ".q_norm.weight"]), rms(k, p[name + ".k_norm.weight"])
    q, k = rope(q, pos, sections, theta), rope(k, pos, sections, theta)
    return linear(p, name + ".proj", attend(q, k, v, seqlens, seqlens).reshape(s, d))


def cross_attention(p, name, x, ctx, lq, lk, heads):
    s, d = x.shape
    q = linear(p, name + ".q", x).reshape(s, heads, d // heads)
    kv = linear(p, name + ".kv", ctx).reshape(ctx.shape[0], 2, heads, d // heads)
    k, v = kv[:, 0], kv[:, 1]
    q, k = rms(q, p[name + ".q_norm.weight"]), rms(k, p[name + ".k_norm.weight"])
    return linear(p, name + ".proj", attend(q, k, v, lq, lk).reshape(s, d))


def layer_norm(x, w=None, b=None):
    return F.layer_norm(x, (x.shape[-1],), w, b, EPS)


def text_encoder(p, ids, lens, heads, depth):
    x = p["text.embed"][ids]
    pos = torch.zeros(len(ids), 3, dtype=torch.float64)
    pos[:, 0] = torch.cat([torch.arange(n, dtype=torch.float64) for n in lens])
    dh = x.shape[1] // heads
    for i in range(depth):
        n = f"text.layers.{i}"
        h = layer_norm(x, p[n + ".norm1.weight"], p[n + ".norm1.bias"])
        x = x + self_attention(p, n + ".attn", h, pos, lens, heads, [dh, 0, 0], 10000.0)
        x = x + mlp(p, n + ".mlp", layer_norm(x, p[n + ".norm2.weight"], p[n + ".norm2.bias"]))
    return layer_norm(x, p["text.norm.weight"], p["text.norm.bias"])


def timestep_features(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64) / half)
    args = 1000.0 * t[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


@op("dit")
def dit(t, attrs):
    hidden, heads, depth = int(attrs["hidden"]), int(attrs["heads"]), int(attrs["depth"])
    theta = float(attrs.get("rope_theta", "10000"))
    seqlens, text_lens = csv(attrs["seqlens"]), csv(attrs["text_lens"])
    p = {k[len("param."):]: leaf(v) for k, v in t.items() if k.startswith("param.")}
    tokens = leaf(t["tokens"])
    pos = t["positions"].double()
    ids = t["text_ids"].long()
    clip = torch.cat([torch.full((n,), i, dtype=torch.long) for i, n in enumerate(seqlens)])
    dh = hidden // heads
    hw = dh // 3 // 2 * 2
    sections = [dh - 2 * hw, hw, hw]

    c = timestep_features(t["t"].double(), int(attrs["freq_dim"]))
    c = linear(p, "t_embed.fc2", F.silu(linear(p, "t_embed.fc1", c)))
    text = linear(p, "text_proj", text_encoder(p, ids, text_lens, int(attrs["text_heads"]),
                                               int(attrs["text_depth"])))
    x = linear(p, "x_embed", tokens)
    for i in range(depth):
        n = f"blocks.{i}"
        mod = linear(p, n + ".ada", F.silu(c))[clip]
        sh1, sc1, g1, sh2, sc2, g2 = mod.split(hidden, dim=1)
        h = layer_norm(x) * (1 + sc1) + sh1
        x = x + g1 * self_attention(p, n + ".attn", h, pos, seqlens, heads, sections, theta)
        x = x + cross_attention(p, n + ".cross", layer_norm(x), text, seqlens, text_lens, heads)
        h = layer_norm(x) * (1 + sc2) + sh2
        x = x + g2 * mlp(p, n + ".mlp", h)
    mod = linear(p, "final.ada", F.silu(c))[clip]
    shift, scale = mod.split(hidden, dim=1)
    y = linear(p, "final.linear", layer_norm(x) * (1 + scale) + shift)

    y.backward(t["gy"].double())
    out = {"y": y, "grad_tokens": tokens.grad}
    out.update({"grad." + k: v.grad for k, v in p.items() if v.grad is not None})
    return out
