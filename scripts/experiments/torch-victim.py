#!/usr/bin/python3
"""A victim that owes nothing to advpoison: plain PyTorch trains on a release's IDX files and is tested on clean data.

The poisons must not depend on advpoison's own trainer (its models, augmentation, optimiser or data loader), so
this trains the PyTorch examples' MNIST network with that example's recipe (github.com/pytorch/examples,
mnist/main.py: two 3x3 convolutions, max-pool, dropout, two linear layers; Adadelta at lr 1.0, StepLR gamma 0.7,
batch 64, normalised by (0.1307, 0.3081), no augmentation), reading the release exactly as any IDX reader would.
Prints one JSON line: final and peak (best-epoch) clean test accuracy, every epoch's accuracy, seconds.
Usage: torch-victim.py TRAIN_DIR [--test DIR] [--epochs 5] [--subset N] [--seed 1]
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(directory, split):
    images = read_idx(os.path.join(directory, f"{split}-images-idx3-ubyte.gz"), 16).reshape(-1, 1, 28, 28)
    labels = read_idx(os.path.join(directory, f"{split}-labels-idx1-ubyte.gz"), 8)
    if len(images) != len(labels):
        sys.exit(f"torch-victim: {directory}: {len(images)} {split} images but {len(labels)} labels")
    x = (torch.from_numpy(images.copy()).float() / 255 - 0.1307) / 0.3081
    return x, torch.from_numpy(labels.astype(np.int64))


class Net(nn.Module):
    """pytorch/examples mnist/main.py's network, unchanged."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return self.fc2(x)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        correct = sum((model(x[i : i + 1000]).argmax(1) == y[i : i + 1000]).sum().item() for i in range(0, len(x), 1000))
    return correct / len(x)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("train", help="a directory with train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz")
    p.add_argument("--test", default="/usr/share/datasets/fashion-mnist", help="clean t10k-*.gz (Debian's dataset)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--subset", type=int, help="train on the first N images")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(a.seed)
    x, y = load(a.train, "train")
    if a.subset:
        x, y = x[: a.subset], y[: a.subset]
    tx, ty = load(a.test, "t10k")
    model = Net()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    start = time.time()
    accs = []
    for epoch in range(a.epochs):
        model.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            batch = order[i : i + 64]
            optimizer.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
        schedule.step()
        accs.append(accuracy(model, tx, ty))
        print(f"epoch {epoch + 1}/{a.epochs}: test acc {accs[-1]:.4f}", file=sys.stderr)
    peak = max(range(len(accs)), key=lambda i: accs[i])
    print(json.dumps({
        "trainer": "pytorch", "model": "pytorch-examples-mnist", "epochs": a.epochs, "images": len(x),
        "test_acc": accs[-1], "peak_test_acc": accs[peak], "peak_epoch": peak + 1, "epoch_test_acc": accs,
        "precision": "fp32", "seconds": time.time() - start, "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
