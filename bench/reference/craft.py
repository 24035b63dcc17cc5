"""PyTorch reference for bench/craft.ts: the crafting loop of advpoison's targeted recipe (the crafting model in
eval mode, frozen; PGD with signed steps, projection, and differentiable shift+flip augmentation through
affine_grid + grid_sample, then one evaluation of the result), for SmallCNN-BN on Fashion-MNIST and ResNet-18 on 3x32x32 noise, in fp32 or in
PyTorch's own fast path (bf16 autocast + channels-last). Serves requests
"<model> <variant> <chunks> <chunk_size> <steps>" on stdin with {"seconds": ..}."""
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F

from common import load_idx
from engine import ResNet18, SmallCNN


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


def craft_chunk(model, x, target, eps, step, steps, bf16):
    delta = (torch.randn_like(x) * eps).clamp(-eps, eps)
    delta = (x + delta).clamp(0, 1) - x
    for _ in range(steps):
        d = delta.detach().requires_grad_(True)
        seen = seen_layout(diff_augment(x + d), bf16)
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            logits = model(seen)
        loss = F.cross_entropy(logits.float(), target, reduction="none").sum()
        (g,) = torch.autograd.grad(loss, d)
        with torch.no_grad():
            delta = (x + (d - step * g.sign()).clamp(-eps, eps)).clamp(0, 1) - x
    # As advpoison does after the last step: each sample's final loss and whether it fooled the model.
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
        final = model(seen_layout(x + delta, bf16)).float()
    F.cross_entropy(final, target, reduction="none")
    final.argmax(1).eq(target)
    return ((x + delta) * 255).round()


def seen_layout(x, bf16):
    return x.contiguous(memory_format=torch.channels_last) if bf16 else x


def data(name):
    if name == "smallcnn":
        return load_idx("train")
    images = torch.randint(0, 256, (1024, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    return images, torch.arange(1024) % 10


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    models, datasets = {}, {}
    eps = 8 / 255
    for line in sys.stdin:
        name, variant, chunks, size, steps = line.split()
        chunks, size, steps = int(chunks), int(size), int(steps)
        bf16 = variant == "bf16"
        if (name, variant) not in models:
            torch.manual_seed(0)
            model = (SmallCNN() if name == "smallcnn" else ResNet18()).eval().requires_grad_(False)
            models[(name, variant)] = model.to(memory_format=torch.channels_last) if bf16 else model
        if name not in datasets:
            datasets[name] = data(name)
        model, (images, labels) = models[(name, variant)], datasets[name]
        t0 = time.perf_counter()
        for k in range(chunks):
            x = images[k * size:(k + 1) * size].float() / 255
            target = (labels[k * size:(k + 1) * size] + 1) % 10
            craft_chunk(model, x, target, eps, 0.1 * eps, steps, bf16)
        print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    main()
