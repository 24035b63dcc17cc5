"""PyTorch reference for bench/train.ts: SmallCNN-BN on Fashion-MNIST with advpoison's "fast" recipe
(Nesterov SGD 0.9, wd 5e-4, batch 128, one-cycle lr peaking at 0.05, random crop (pad 2) + flip).
Prints {"seconds_per_epoch": .., "test_acc": ..}."""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

from common import load_idx
from engine import SmallCNN


def one_cycle(lr, total, pct=0.25, div=10, final_div=100):
    peak = max(1, round(total * pct))

    def at(t):
        if t <= peak:
            return lr / div + (lr - lr / div) * t / peak
        u = min(1, (t - peak) / max(1, total - peak))
        return lr + (lr / final_div - lr) * u

    return at


def augment(x, pad, gen):
    """Per-sample random crop with zero padding and horizontal flip, vectorised with two gathers."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    top = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    left = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = (top[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, c, h, w + 2 * pad)
    cols = (left[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, c, h, w)
    out = padded.gather(2, rows).gather(3, cols)
    flip = torch.rand(n, generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    xtr, ytr = load_idx("train")
    xte, yte = load_idx("test")
    model = SmallCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    schedule = one_cycle(0.05, a.epochs)
    n, bs = len(xtr), 128
    steps = math.ceil(n / bs)
    t0 = time.perf_counter()
    for epoch in range(a.epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        for b in range(steps):
            idx = order[b * bs:(b + 1) * bs]
            x = augment(xtr[idx].float().div_(255), 2, gen)
            for g in opt.param_groups:
                g["lr"] = schedule(epoch + b / steps)
            loss = F.cross_entropy(model(x), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    seconds = (time.perf_counter() - t0) / a.epochs
    model.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, len(xte), 512):
            correct += (model(xte[b:b + 512].float() / 255).argmax(1) == yte[b:b + 512]).sum().item()
    print(json.dumps({"seconds_per_epoch": seconds, "test_acc": correct / len(xte)}))


if __name__ == "__main__":
    main()
