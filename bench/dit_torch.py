"""The diffusion transformer of a Cubist config in PyTorch, timed the way bench_dit times Cubist's.

    /usr/bin/python3 bench/dit_torch.py [--config configs/dit/shapes.json] [--latents 16,5,8,8]
        [--batch 8] [--text-lens 22,17,23,16,21,17,22,23] [--prompt-len 22] [--vocab 64]
        [--iters 5] [--steps 30] [--gen-iters 3] [--threads 2]
    /usr/bin/python3 bench/dit_torch.py --check      # this module against tests/torch_ref/ops_dit.py

The model is src/models/dit's architecture with the same parameter names and shapes (patch
embedding with the known-frame mask channel under frame conditioning, timestep MLP, text encoder
with RoPE over word positions, adaLN-Zero blocks with QK-normed self-attention under 3-axis RoPE,
cross-attention to the clip's text, MLP, final layer), in float32, written as a PyTorch user would
write it at PyTorch's best on this machine: clips of one size batched [B, N, D] so that attention
is one batched product per clip (no block-diagonal mask over the packed sequence), prompts padded
to the longest with a key mask, RoPE angles computed once per forward and shared by every layer,
inference under torch.inference_mode, OpenBLAS's AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX) and
one intra-op thread per core. PyTorch 1.13 has no fused attention on the CPU: softmax(QK^T)V.
`--check` runs the module in float64 on random weights against the reference that the C++ tests
compare Cubist with (tests/torch_ref/ops_dit.py): outputs and every gradient must agree.

Timed, each as the best (and the median) of --iters runs after one warm-up run:
  train_step_ms    DiTTrainer::step's work: per clip a logit-normal shifted time, caption dropout,
                   noise, a random known-frame mask in condition_rate of the clips, the text
                   encoder, the forward, the masked MSE loss, backward, global-norm clipping,
                   AdamW and the EMA update; train_tokens_per_s = batch * tokens / train_step_ms.
  guided_eval_ms   one sampling evaluation: the conditional and unconditional clip together (a
                   batch of 2), the text already encoded, as every step of generation runs it.
  generate_ms      a whole --steps Heun generation of one clip with guidance (2 evaluations a
                   step, the text encoded once), as generate_latents does.
Prints one JSON line with the keys bench_dit prints.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")  # before torch loads OpenBLAS

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EPS = 1e-6
EMPTY = 2  # the tokenizer's <empty>: the unconditional prompt


# ---- config (the defaults of src/models/dit/config.h and src/train/dit_run.h) ----------------

MODEL_DEFAULTS = dict(latent_channels=4, patch=[1, 2, 2], hidden=384, depth=12, heads=6,
                      mlp_ratio=4.0, qk_norm=True, rope_theta=10000.0, freq_dim=256,
                      max_text_tokens=64, caption_dropout=0.1, frame_conditioning=False,
                      condition_rate=0.5, logit_mean=0.0, logit_std=1.0, shift_base=1.0,
                      shift_base_tokens=256)
TEXT_DEFAULTS = dict(dim=256, depth=4, heads=4, mlp_ratio=4.0, qk_norm=True)
TRAIN_DEFAULTS = dict(lr=2e-4, weight_decay=0.0, grad_clip=1.0, ema=0.999)


def load_config(path):
    with open(path) as f:
        j = json.load(f)
    model = dict(MODEL_DEFAULTS, **j.get("model", j))
    model["text"] = dict(TEXT_DEFAULTS, **model.get("text", {}))
    train = dict(TRAIN_DEFAULTS, **{k: v for k, v in j.get("train", {}).items()
                                    if k in TRAIN_DEFAULTS})
    return model, train


# ---- the model ---------------------------------------------------------------------------------

class RMSNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


def rope_table(pos, sections, theta, dtype):
    """pos [N, 3] -> (cos, sin) [N, head_dim / 2]: the angle of each rotated pair, axis by axis."""
    angles = []
    for a, da in enumerate(sections):
        if da:
            i = torch.arange(da // 2, dtype=torch.float64)
            angles.append(pos[:, a:a + 1].double() * theta ** (-2.0 * i / da))
    phi = torch.cat(angles, dim=1)
    return torch.cos(phi).to(dtype), torch.sin(phi).to(dtype)


def apply_rope(x, rope):
    """x [B, H, N, dh], pairs (0, 1), (2, 3), ... rotated by their angles."""
    cos, sin = rope
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2)


def attend(q, k, v, key_mask):
    """q [B, H, N, dh], k, v [B, H, M, dh]; key_mask [B, M] (True = a real token) or None."""
    s = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    if key_mask is not None:
        s = s.masked_fill(~key_mask[:, None, None, :], float("-inf"))
    return torch.softmax(s, dim=-1) @ v


class SelfAttention(nn.Module):
    def __init__(self, dim, heads, qk_norm):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.q_norm = RMSNorm(dim // heads) if qk_norm else nn.Identity()
        self.k_norm = RMSNorm(dim // heads) if qk_norm else nn.Identity()

    def forward(self, x, rope, key_mask=None):
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q = apply_rope(self.q_norm(qkv[0]), rope)
        k = apply_rope(self.k_norm(qkv[1]), rope)
        return self.proj(attend(q, k, qkv[2], key_mask).transpose(1, 2).reshape(b, n, d))


class CrossAttention(nn.Module):
    def __init__(self, dim, heads, qk_norm):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.q_norm = RMSNorm(dim // heads) if qk_norm else nn.Identity()
        self.k_norm = RMSNorm(dim // heads) if qk_norm else nn.Identity()

    def forward(self, x, ctx, key_mask):
        b, n, d = x.shape
        h, dh = self.heads, d // self.heads
        q = self.q_norm(self.q(x).reshape(b, n, h, dh).transpose(1, 2))
        kv = self.kv(ctx).reshape(b, ctx.shape[1], 2, h, dh).permute(2, 0, 3, 1, 4)
        o = attend(q, self.k_norm(kv[0]), kv[1], key_mask)
        return self.proj(o.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class TextLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm1 = nn.LayerNorm(c["dim"], eps=EPS)
        self.attn = SelfAttention(c["dim"], c["heads"], c["qk_norm"])
        self.norm2 = nn.LayerNorm(c["dim"], eps=EPS)
        self.mlp = Mlp(c["dim"], int(c["dim"] * c["mlp_ratio"]))

    def forward(self, x, rope, key_mask):
        x = x + self.attn(self.norm1(x), rope, key_mask)
        return x + self.mlp(self.norm2(x))


class TextEncoder(nn.Module):
    def __init__(self, c, vocab):
        super().__init__()
        self.heads = c["heads"]
        self.embed = nn.Parameter(torch.randn(vocab, c["dim"]) * 0.02)
        self.layers = nn.ModuleList(TextLayer(c) for _ in range(c["depth"]))
        self.norm = nn.LayerNorm(c["dim"], eps=EPS)

    def forward(self, ids, key_mask):
        """ids [B, L] padded, key_mask [B, L] -> [B, L, dim] (rows past a prompt's end unused)."""
        x = self.embed[ids]
        dh = x.shape[-1] // self.heads
        pos = torch.zeros(ids.shape[1], 3)
        pos[:, 0] = torch.arange(ids.shape[1])
        rope = rope_table(pos, [dh, 0, 0], 10000.0, x.dtype)
        mask = None if bool(key_mask.all()) else key_mask
        for layer in self.layers:
            x = layer(x, rope, mask)
        return self.norm(x)


def timestep_features(t, dim, dtype):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64) / half)
    args = 1000.0 * t.double()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1).to(dtype)


class TimestepEmbedder(nn.Module):
    def __init__(self, freq_dim, hidden):
        super().__init__()
        self.freq_dim = freq_dim
        self.fc1 = nn.Linear(freq_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)

    def forward(self, t):
        return self.fc2(F.silu(self.fc1(timestep_features(t, self.freq_dim, self.fc1.weight.dtype))))


def layer_norm(x):
    return F.layer_norm(x, (x.shape[-1],), eps=EPS)


def modulate(x, shift, scale):
    return x * (1 + scale) + shift


class DiTBlock(nn.Module):
    def __init__(self, m):
        super().__init__()
        d = m["hidden"]
        self.ada = nn.Linear(d, 6 * d)
        self.attn = SelfAttention(d, m["heads"], m["qk_norm"])
        self.cross = CrossAttention(d, m["heads"], m["qk_norm"])
        self.mlp = Mlp(d, int(d * m["mlp_ratio"]))

    def forward(self, x, c, rope, text, text_mask):
        sh1, sc1, g1, sh2, sc2, g2 = self.ada(F.silu(c)).unsqueeze(1).chunk(6, dim=-1)
        x = x + g1 * self.attn(modulate(layer_norm(x), sh1, sc1), rope)
        x = x + self.cross(layer_norm(x), text, text_mask)
        return x + g2 * self.mlp(modulate(layer_norm(x), sh2, sc2))


class FinalLayer(nn.Module):
    def __init__(self, hidden, out):
        super().__init__()
        self.ada = nn.Linear(hidden, 2 * hidden)
        self.linear = nn.Linear(hidden, out)

    def forward(self, x, c):
        shift, scale = self.ada(F.silu(c)).unsqueeze(1).chunk(2, dim=-1)
        return self.linear(modulate(layer_norm(x), shift, scale))


class DiT(nn.Module):
    def __init__(self, m, vocab):
        super().__init__()
        self.m = m
        pt, ph, pw = m["patch"]
        c_in = m["latent_channels"] + (1 if m["frame_conditioning"] else 0)
        d = m["hidden"]
        self.x_embed = nn.Linear(c_in * pt * ph * pw, d)
        self.t_embed = TimestepEmbedder(m["freq_dim"], d)
        self.text = TextEncoder(m["text"], vocab)
        self.text_proj = nn.Linear(m["text"]["dim"], d)
        self.blocks = nn.ModuleList(DiTBlock(m) for _ in range(m["depth"]))
        self.final = FinalLayer(d, m["latent_channels"] * pt * ph * pw)
        dh = d // m["heads"]
        hw = dh // 3 // 2 * 2
        self.sections = [dh - 2 * hw, hw, hw]
        nn.init.zeros_(self.final.ada.weight)  # adaLN-Zero's zero initialisations, as Cubist's
        nn.init.zeros_(self.final.linear.weight)
        for b in self.blocks:
            nn.init.zeros_(b.ada.weight)
            nn.init.zeros_(b.cross.proj.weight)

    def encode_text(self, ids, key_mask):
        return self.text_proj(self.text(ids, key_mask))

    def rope(self, positions):
        return rope_table(positions, self.sections, self.m["rope_theta"], self.x_embed.weight.dtype)

    def forward(self, tokens, rope, t, text, text_mask):
        """tokens [B, N, C_in*pt*ph*pw] (clips of one grid), rope from self.rope(positions),
        t [B], text [B, L, D] from encode_text with text_mask [B, L] -> [B, N, C*pt*ph*pw]."""
        c = self.t_embed(t)
        mask = None if text_mask is None or bool(text_mask.all()) else text_mask
        x = self.x_embed(tokens)
        for block in self.blocks:
            x = block(x, c, rope, text, mask)
        return self.final(x, c)


# ---- patches, prompts, the flow ---------------------------------------------------------------

def patchify(x, p):
    """[B, C, T, H, W] -> [B, N, C*pt*ph*pw], tokens in (t, h, w) order, features (c, dt, dh, dw)."""
    b, c, t, h, w = x.shape
    pt, ph, pw = p
    x = x.reshape(b, c, t // pt, pt, h // ph, ph, w // pw, pw).permute(0, 2, 4, 6, 1, 3, 5, 7)
    return x.reshape(b, (t // pt) * (h // ph) * (w // pw), c * pt * ph * pw)


def unpatchify(y, p, shape):
    c, t, h, w = shape
    pt, ph, pw = p
    y = y.reshape(y.shape[0], t // pt, h // ph, w // pw, c, pt, ph, pw)
    return y.permute(0, 4, 1, 5, 2, 6, 3, 7).reshape(y.shape[0], c, t, h, w)


def positions(shape, p):
    _, t, h, w = shape
    g = torch.meshgrid(torch.arange(t // p[0]), torch.arange(h // p[1]), torch.arange(w // p[2]),
                       indexing="ij")
    return torch.stack([a.reshape(-1) for a in g], dim=1).float()


def pad_prompts(prompts):
    """Token id lists -> ids [B, L] (0 = <pad>) and key_mask [B, L]."""
    n = max(len(p) for p in prompts)
    ids = torch.zeros(len(prompts), n, dtype=torch.long)
    mask = torch.zeros(len(prompts), n, dtype=torch.bool)
    for i, p in enumerate(prompts):
        ids[i, :len(p)] = torch.tensor(p)
        mask[i, :len(p)] = True
    return ids, mask


def shift_time(t, s):
    return s * t / (1 + (s - 1) * t)


def resolution_shift(tokens, m):
    return m["shift_base"] * math.sqrt(tokens / m["shift_base_tokens"])


def known_masks(b, t, h, w, rate):
    """[B, 1, T, H, W]: in a share `rate` of the clips (with more than one latent frame), one of
    diffusion/condition.h's five kinds of known frames; at least one frame left to generate."""
    mask = torch.zeros(b, 1, t, h, w)
    if t < 2:
        return mask
    for i in range(b):
        if torch.rand(()) >= rate:
            continue
        kind, k = int(torch.randint(5, ())), int(torch.randint(1, t, ()))
        frames = {0: [0], 1: range(k), 2: range(t - k, t), 3: [0, t - 1] if t > 2 else [0],
                  4: [f for f in range(t) if torch.rand(()) < 0.5][:t - 1]}[kind]
        for f in frames:
            mask[i, 0, f] = 1
    return mask


# ---- what is timed -----------------------------------------------------------------------------

class Bench:
    def __init__(self, m, tr, vocab, shape, batch, text_lens, prompt_len):
        self.m, self.shape, self.p = m, shape, m["patch"]
        self.model = DiT(m, vocab)
        self.params = [q for q in self.model.parameters()]
        self.opt = torch.optim.AdamW(self.params, lr=tr["lr"], betas=(0.9, 0.999), eps=1e-8,
                                     weight_decay=tr["weight_decay"])
        self.grad_clip, self.ema_decay, self.steps_done = tr["grad_clip"], tr["ema"], 0
        self.ema = [q.detach().clone() for q in self.params] if self.ema_decay > 0 else None
        self.x0 = torch.randn(batch, *shape)
        self.prompts = [torch.randint(3, vocab, (n,)).tolist() for n in text_lens]
        self.prompt = torch.randint(3, vocab, (prompt_len,)).tolist()
        self.rope = self.model.rope(positions(shape, self.p))
        self.tokens = self.rope[0].shape[0]

    def train_step(self):
        m, b = self.m, self.x0.shape[0]
        s = resolution_shift(self.tokens, m)
        t = shift_time(torch.sigmoid(m["logit_mean"] + m["logit_std"] * torch.randn(b)), s)
        dropped = torch.rand(b) < m["caption_dropout"]
        noise = torch.randn_like(self.x0)
        tt = t.view(b, 1, 1, 1, 1)
        x = (1 - tt) * self.x0 + tt * noise
        target = patchify(noise - self.x0, self.p)
        weight = None
        if m["frame_conditioning"]:
            known = known_masks(b, *self.shape[1:], m["condition_rate"])
            x = torch.cat([torch.where(known > 0, self.x0, x), known], dim=1)
            weight = patchify((1 - known).expand(-1, self.shape[0], -1, -1, -1), self.p)
        ids, key_mask = pad_prompts([[EMPTY] if d else p for p, d in zip(self.prompts, dropped)])
        pred = self.model(patchify(x, self.p), self.rope, t,
                          self.model.encode_text(ids, key_mask), key_mask)
        err = (pred - target).pow(2)
        loss = err.mean() if weight is None else (err * weight).sum() / weight.sum()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        self.opt.step()
        self.steps_done += 1
        if self.ema is not None:  # train/ema.h: d_n = min(decay, n / (n + 9))
            d = min(self.ema_decay, self.steps_done / (self.steps_done + 9))
            with torch.no_grad():
                torch._foreach_mul_(self.ema, d)
                torch._foreach_add_(self.ema, self.params, alpha=1 - d)
        return float(loss)

    def pair_text(self):
        ids, key_mask = pad_prompts([self.prompt, [EMPTY]])
        return self.model.encode_text(ids, key_mask), key_mask

    def velocity(self, x, t, text, guidance):
        """The guided velocity at x [C, T, H, W]: both clips in one batch of 2."""
        if self.m["frame_conditioning"]:
            x = torch.cat([x, torch.zeros(1, *x.shape[1:])], dim=0)
        tokens = patchify(x.unsqueeze(0).expand(2, -1, -1, -1, -1), self.p)
        v = unpatchify(self.model(tokens, self.rope, torch.full((2,), t), *text), self.p,
                       self.shape)
        return v[1] + guidance * (v[0] - v[1])

    def guided_eval(self, text):
        with torch.inference_mode():
            return self.velocity(self.x0[0], 0.5, text, 5.0)

    def generate(self, steps, guidance):
        with torch.inference_mode():
            text = self.pair_text()
            s = resolution_shift(self.tokens, self.m)
            times = [shift_time(1 - i / steps, s) for i in range(steps)] + [0.0]
            x = torch.randn(*self.shape)
            for t0, t1 in zip(times[:-1], times[1:]):  # Heun
                v1 = self.velocity(x, t0, text, guidance)
                v2 = self.velocity(x + (t1 - t0) * v1, t1, text, guidance)
                x = x + (t1 - t0) * 0.5 * (v1 + v2)
            return x


def timed(iters, f):
    f()  # warm-up
    ts = []
    for _ in range(iters):
        a = time.perf_counter()
        f()
        ts.append((time.perf_counter() - a) * 1e3)
    ts.sort()
    return ts[0], ts[len(ts) // 2]


def csv(s):
    return [int(x) for x in s.split(",")]


# ---- --check: this module against the float64 reference of the tests ----------------------------

def check():
    sys.path.insert(0, os.path.join(ROOT, "tests", "torch_ref"))
    import ops_dit  # noqa: E402

    torch.manual_seed(0)
    m = dict(MODEL_DEFAULTS, latent_channels=4, hidden=48, depth=2, heads=2,
             frame_conditioning=True, text=dict(TEXT_DEFAULTS, dim=32, depth=2, heads=2))
    vocab, shape, text_lens = 20, (4, 3, 4, 4), [5, 1]
    model = DiT(m, vocab).double()
    with torch.no_grad():
        for q in model.parameters():
            q.copy_(torch.randn_like(q) * 0.3)
    x = torch.randn(2, 5, *shape[1:], dtype=torch.float64)
    tokens = patchify(x, m["patch"]).requires_grad_(True)
    t = torch.tensor([0.3, 0.8], dtype=torch.float64)
    prompts = [torch.randint(3, vocab, (n,)).tolist() for n in text_lens]
    ids, key_mask = pad_prompts(prompts)
    pos = positions(shape, m["patch"])
    y = model(tokens, model.rope(pos), t, model.encode_text(ids, key_mask), key_mask)
    gy = torch.randn_like(y)
    y.backward(gy)

    n = tokens.shape[1]
    inputs = {"param." + k: v.detach() for k, v in model.named_parameters()}
    inputs.update(tokens=tokens.detach().reshape(2 * n, -1), positions=torch.cat([pos, pos]),
                  text_ids=torch.tensor(prompts[0] + prompts[1]), t=t, gy=gy.reshape(2 * n, -1))
    attrs = dict(hidden=m["hidden"], heads=m["heads"], depth=m["depth"], freq_dim=m["freq_dim"],
                 seqlens=f"{n},{n}", text_lens=",".join(map(str, text_lens)),
                 text_heads=m["text"]["heads"], text_depth=m["text"]["depth"])
    ref = ops_dit.dit(inputs, {k: str(v) for k, v in attrs.items()})
    worst = {"y": (y.detach().reshape(2 * n, -1) - ref["y"].detach()).abs().max().item(),
             "grad_tokens": (tokens.grad.reshape(2 * n, -1) - ref["grad_tokens"]).abs().max().item()}
    for k, v in model.named_parameters():
        worst["grad." + k] = (v.grad - ref["grad." + k]).abs().max().item()
    bad = {k: e for k, e in worst.items() if not e < 1e-9}
    print(json.dumps({"check": "dit_torch vs tests/torch_ref/ops_dit.py (float64)",
                      "compared": len(worst), "max_abs_err": max(worst.values()),
                      "ok": not bad, "bad": bad}))
    return 0 if not bad else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "dit", "shapes.json"))
    ap.add_argument("--latents", default="16,5,8,8", help="C,T,H,W of one clip's latents")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--text-lens", default="22,17,23,16,21,17,22,23",
                    help="caption tokens per clip (cycled over the batch)")
    ap.add_argument("--prompt-len", type=int, default=22, help="tokens of the sampling prompt")
    ap.add_argument("--vocab", type=int, default=64)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30, help="Heun steps of the generation (0: skip)")
    ap.add_argument("--gen-iters", type=int, default=3)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--check", action="store_true",
                    help="compare with tests/torch_ref/ops_dit.py in float64 instead of timing")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.check:
        return check()
    torch.manual_seed(0)
    m, tr = load_config(a.config)
    shape = tuple(csv(a.latents))
    lens = csv(a.text_lens)
    lens = [lens[i % len(lens)] for i in range(a.batch)]
    b = Bench(m, tr, a.vocab, shape, a.batch, lens, a.prompt_len)
    train = timed(a.iters, b.train_step)
    with torch.inference_mode():
        text = b.pair_text()
    evaluation = timed(a.iters, lambda: b.guided_eval(text))
    with_text = timed(a.iters, lambda: b.guided_eval(b.pair_text()))
    gen = timed(a.gen_iters, lambda: b.generate(a.steps, a.guidance)) if a.steps else (0.0, 0.0)
    print(json.dumps({
        "bench": "dit", "impl": "torch", "config": a.config,
        "params": sum(q.numel() for q in b.params), "vocab": a.vocab,
        "latents": "[" + ", ".join(map(str, shape)) + "]", "tokens": b.tokens, "batch": a.batch,
        "text_lens": lens, "prompt_len": a.prompt_len, "train_tokens": b.tokens * a.batch,
        "train_step_ms": round(train[0], 2), "train_step_median_ms": round(train[1], 2),
        "train_tokens_per_s": round(1e3 * b.tokens * a.batch / train[0], 1),
        "guided_eval_ms": round(evaluation[0], 3), "guided_eval_median_ms": round(evaluation[1], 3),
        "guided_eval_with_text_ms": round(with_text[0], 3), "heun_steps": a.steps,
        "generate_ms": round(gen[0], 1), "generate_median_ms": round(gen[1], 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": torch.get_num_threads(), "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
