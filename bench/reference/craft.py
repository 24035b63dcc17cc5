"""PyTorch reference for bench/craft.ts: the crafting loop of advpoison's targeted recipe (SmallCNN-BN in
eval mode, frozen; batch 512; PGD with signed steps, projection, and differentiable shift+flip augmentation
through affine_grid + grid_sample). Serves requests "<chunks> <steps>" on stdin with {"seconds": ..}."""
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F

from common import load_idx
from engine import SmallCNN


def diff_augment(x, max_shift=0.25):
    n = x.shape[0]
    r = torch.rand(n, 3)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = torch.where(r[:, 0] < 0.5, -1.0, 1.0)
    theta[:, 0, 2] = (r[:, 1] * 2 - 1) * 2 * max_shift
    theta[:, 1, 1] = 1
    theta[:, 1, 2] = (r[:, 2] * 2 - 1) * 2 * max_shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def craft_chunk(model, x, target, eps, step, steps):
    delta = (torch.randn_like(x) * eps).clamp(-eps, eps)
    delta = (x + delta).clamp(0, 1) - x
    for _ in range(steps):
        d = delta.detach().requires_grad_(True)
        loss = F.cross_entropy(model(diff_augment(x + d)), target, reduction="none").sum()
        (g,) = torch.autograd.grad(loss, d)
        with torch.no_grad():
            delta = (x + (d - step * g.sign()).clamp(-eps, eps)).clamp(0, 1) - x
    return ((x + delta) * 255).round()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    images, labels = load_idx("train")
    model = SmallCNN().eval().requires_grad_(False)
    eps = 8 / 255
    for line in sys.stdin:
        chunks, steps = map(int, line.split())
        t0 = time.perf_counter()
        for k in range(chunks):
            x = images[k * 512:(k + 1) * 512].float() / 255
            target = (labels[k * 512:(k + 1) * 512] + 1) % 10
            craft_chunk(model, x, target, eps, 0.1 * eps, steps)
        print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    main()
