"""Shared by the PyTorch references: Fashion-MNIST from Debian's IDX files, the SmallCNN, timing."""
import gzip
import statistics
import time

import torch

FMNIST = "/usr/share/datasets/fashion-mnist"


def load_idx(split):
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(f"{FMNIST}/{prefix}-images-idx3-ubyte.gz") as f:
        images = torch.frombuffer(bytearray(f.read()[16:]), dtype=torch.uint8).view(-1, 1, 28, 28)
    with gzip.open(f"{FMNIST}/{prefix}-labels-idx1-ubyte.gz") as f:
        labels = torch.frombuffer(bytearray(f.read()[8:]), dtype=torch.uint8).long()
    return images, labels


def timed(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)
