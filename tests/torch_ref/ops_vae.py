"""Reference for the video autoencoder (src/models/vae): the same architecture written in PyTorch,
run on the weights the C++ test wrote (tensors "w.<parameter name>"), in float64.

Causal 3-D convolutions pad time with kt - 1 copies of the first frame and space with zeros;
group norm runs on each frame on its own; upsampling is nearest x2 with the first frame kept
single. See src/models/vae/layers.h, encoder.h and decoder.h."""
import json

import torch
import torch.nn.functional as F

from registry import leaf, op


class Weights:
    def __init__(self, tensors):
        self.t = {k[2:]: leaf(v) for k, v in tensors.items() if k.startswith("w.")}

    def __call__(self, name):
        return self.t[name]


def causal_conv(w, name, x, stride=(1, 1, 1)):
    weight, bias = w(name + ".weight"), w(name + ".bias")
    kt, kh, kw = weight.shape[2:]
    if kt > 1:
        x = torch.cat([x[:, :, :1]] * (kt - 1) + [x], dim=2)
    return F.conv3d(x, weight, bias, stride=stride, padding=(0, kh // 2, kw // 2))


def frame_group_norm(w, name, x, groups):
    b, c, t, h, wd = x.shape
    f = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, wd)
    f = F.group_norm(f, groups, w(name + ".weight"), w(name + ".bias"), 1e-6)
    return f.reshape(b, t, c, h, wd).permute(0, 2, 1, 3, 4)


def res_block(w, name, x, groups):
    h = causal_conv(w, name + ".conv1", F.silu(frame_group_norm(w, name + ".norm1", x, groups)))
    h = causal_conv(w, name + ".conv2", F.silu(frame_group_norm(w, name + ".norm2", h, groups)))
    skip = causal_conv(w, name + ".skip", x) if (name + ".skip.weight") in w.t else x
    return skip + h


def level_channels(cfg, level):
    return cfg["channels"] * cfg["channel_multipliers"][level]


def halves_space(cfg, transition):
    return (1 << transition) < cfg["spatial_factor"]


def halves_time(cfg, transition):
    return transition in cfg["temporal_downsample"]


def encoder(w, cfg, x):
    g, levels = cfg["groups"], len(cfg["channel_multipliers"])
    h = causal_conv(w, "encoder.conv_in", x)
    for lv in range(levels):
        for j in range(cfg["blocks_per_level"]):
            h = res_block(w, f"encoder.down.{lv}.blocks.{j}", h, g)
        if lv + 1 < levels and (halves_time(cfg, lv) or halves_space(cfg, lv)):
            s = 2 if halves_space(cfg, lv) else 1
            st = 2 if halves_time(cfg, lv) else 1
            h = causal_conv(w, f"encoder.down.{lv}.downsample.conv", h, stride=(st, s, s))
    for j in range(cfg["mid_blocks"]):
        h = res_block(w, f"encoder.mid.{j}", h, g)
    h = F.silu(frame_group_norm(w, "encoder.norm_out", h, g))
    return causal_conv(w, "encoder.conv_out", h)


def decoder(w, cfg, z):
    g, levels = cfg["groups"], len(cfg["channel_multipliers"])
    h = causal_conv(w, "decoder.conv_in", z)
    for j in range(cfg["mid_blocks"]):
        h = res_block(w, f"decoder.mid.{j}", h, g)
    for lv in reversed(range(levels)):
        for j in range(cfg["blocks_per_level"]):
            h = res_block(w, f"decoder.up.{lv}.blocks.{j}", h, g)
        tr = lv - 1
        if lv > 0 and (halves_time(cfg, tr) or halves_space(cfg, tr)):
            s = 2 if halves_space(cfg, tr) else 1
            st = 2 if halves_time(cfg, tr) else 1
            h = F.interpolate(h, scale_factor=(st, s, s), mode="nearest")
            if st == 2:
                h = h[:, :, 1:]
            h = causal_conv(w, f"decoder.up.{lv}.upsample.conv", h)
    h = F.silu(frame_group_norm(w, "decoder.norm_out", h, g))
    return causal_conv(w, "decoder.conv_out", h)


@op("vae")
def vae(t, attrs):
    """Inputs: x (video), z (latent), gm and gd (weights of the scalar loss
    L = sum(encoder(x) * gm) + sum(decoder(z) * gd)), and the weights w.*; attrs: "config" (JSON).
    Outputs: moments = encoder(x), decoded = decoder(z), grad_x, and grad.<name> for every weight."""
    cfg = json.loads(attrs["config"])
    w = Weights(t)
    x = leaf(t["x"])
    moments = encoder(w, cfg, x)
    decoded = decoder(w, cfg, t["z"].double())
    loss = (moments * t["gm"].double()).sum() + (decoded * t["gd"].double()).sum()
    loss.backward()
    out = {"moments": moments, "decoded": decoded, "grad_x": x.grad}
    out.update({"grad." + k: v.grad for k, v in w.t.items()})
    return out


@op("vae_posterior")
def vae_posterior(t, attrs):
    """z = mean + exp(clamp(logvar, -30, 20) / 2) * eps and the mean KL to N(0, 1), with the
    gradients of sum(z * gz) + gkl * kl."""
    mean, logvar = leaf(t["mean"]), leaf(t["logvar"])
    lv = logvar.clamp(-30.0, 20.0)
    z = mean + torch.exp(0.5 * lv) * t["eps"].double()
    kl = 0.5 * (mean * mean + lv.exp() - 1.0 - lv).mean()
    ((z * t["gz"].double()).sum() + float(attrs["gkl"]) * kl).backward()
    return {"z": z, "kl": kl.reshape(()), "grad_mean": mean.grad, "grad_logvar": logvar.grad}
