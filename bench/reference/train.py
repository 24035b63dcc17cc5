"""PyTorch reference for bench/train.ts: SmallCNN-BN on Fashion-MNIST with advpoison's "fast" recipe
(Nesterov SGD 0.9, wd 5e-4, batch 128, one-cycle lr peaking at 0.05, random crop (pad 2) + flip).

Serves requests on stdin so that the TypeScript side can alternate rounds with it closely in time:
"epoch N" trains one epoch of the recipe on the first N training images (one model, trained on across
requests) and answers {"seconds": ..}; "eval" answers {"test_acc": ..} on the test split."""
import argparse
import json
import math
import sys
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


def train_epoch(model, opt, x_all, y_all, gen):
    """One epoch of the recipe (its one-cycle schedule over that epoch); returns the seconds it took."""
    schedule = one_cycle(0.05, 1)
    n, bs = len(x_all), 128
    steps = math.ceil(n / bs)
    t0 = time.perf_counter()
    model.train()
    order = torch.randperm(n, generator=gen)
    for b in range(steps):
        idx = order[b * bs:(b + 1) * bs]
        x = augment(x_all[idx].float().div_(255), 2, gen)
        for g in opt.param_groups:
            g["lr"] = schedule(b / steps)
        loss = F.cross_entropy(model(x), y_all[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def test_accuracy(model, xte, yte):
    model.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, len(xte), 512):
            correct += (model(xte[b:b + 512].float() / 255).argmax(1) == yte[b:b + 512]).sum().item()
    return correct / len(xte)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    xtr, ytr = load_idx("train")
    xte, yte = load_idx("test")
    model = SmallCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    for line in sys.stdin:
        kind, *args = line.split()
        if kind == "epoch":
            n = int(args[0])
            answer = {"seconds": train_epoch(model, opt, xtr[:n], ytr[:n], gen)}
        else:
            answer = {"test_acc": test_accuracy(model, xte, yte)}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
