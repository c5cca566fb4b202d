"""Reference for AdamW with decoupled weight decay and global-norm clipping."""
import torch

from registry import op


@op("adamw")
def adamw(t, attrs):
    w = t["w"].double().clone().requires_grad_(True)
    opt = torch.optim.AdamW([w], lr=float(attrs["lr"]), betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=float(attrs["wd"]))
    norms = []
    for i in range(int(attrs["steps"])):
        w.grad = t[f"g{i}"].double().clone()
        norms.append(torch.nn.utils.clip_grad_norm_([w], float(attrs["max_norm"])))
        opt.step()
    return {"w": w, "norms": torch.stack(norms)}
