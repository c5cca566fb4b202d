"""References for the video autoencoder's ops: 3-D convolution with causal padding, group norm and
resizing. Each op takes several cases at once (tensors and attributes prefixed "c0.", "c1.", ...)
so that a test starts Python once for all of its cases."""
import torch
import torch.nn.functional as F

from registry import grads, leaf, op


def cases(t, attrs):
    """Yields (prefix, that case's tensors without the prefix, its attribute string)."""
    for i in range(int(attrs["cases"])):
        p = f"c{i}."
        yield p, {k[len(p):]: v for k, v in t.items() if k.startswith(p)}, attrs[p[:-1]]


def prefixed(p, d):
    return {p + k: v for k, v in d.items()}


@op("conv3d")
def conv3d(t, attrs):
    """attrs "cI" = "st sh sw pt ph pw mode", mode one of symmetric, causal_zeros, causal_replicate.
    Causal padding is applied explicitly (kt - 1 frames before the first), then F.conv3d pads
    only in space."""
    out = {}
    for p, c, a in cases(t, attrs):
        st, sh, sw, pt, ph, pw, mode = a.split()
        x, w = leaf(c["x"]), leaf(c["w"])
        inputs = {"x": x, "w": w}
        b = None
        if "b" in c:
            b = inputs["b"] = leaf(c["b"])
        kt = w.shape[2]
        if mode == "symmetric":
            xp, tpad = x, int(pt)
        elif mode == "causal_zeros":
            xp, tpad = F.pad(x, (0, 0, 0, 0, kt - 1, 0)), 0
        elif mode == "causal_replicate":
            first = x[:, :, :1].expand(-1, -1, kt - 1, -1, -1)
            xp, tpad = torch.cat([first, x], dim=2), 0
        else:
            raise SystemExit(f"conv3d: unknown mode {mode}")
        y = F.conv3d(xp, w, b, stride=(int(st), int(sh), int(sw)), padding=(tpad, int(ph), int(pw)))
        out.update(prefixed(p, {"y": y, **grads(y, c["gy"].double(), inputs)}))
    return out


@op("group_norm")
def group_norm(t, attrs):
    """attrs "cI" = "groups eps"."""
    out = {}
    for p, c, a in cases(t, attrs):
        groups, eps = a.split()
        x, w, b = leaf(c["x"]), leaf(c["w"]), leaf(c["b"])
        y = F.group_norm(x, int(groups), w, b, float(eps))
        out.update(prefixed(p, {"y": y, **grads(y, c["gy"].double(), {"x": x, "w": w, "b": b})}))
    return out


@op("resize")
def resize(t, attrs):
    """attrs "cI" = "mode size..." with mode nearest, trilinear or bilinear."""
    out = {}
    for p, c, a in cases(t, attrs):
        mode, *size = a.split()
        x = leaf(c["x"])
        kw = {} if mode == "nearest" else {"align_corners": False}
        y = F.interpolate(x, size=tuple(int(s) for s in size), mode=mode, **kw)
        out.update(prefixed(p, {"y": y, **grads(y, c["gy"].double(), {"x": x})}))
    return out
