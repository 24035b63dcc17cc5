"""PyTorch reference for bench/data.ts: loading Debian's Fashion-MNIST IDX files (gzip + frombuffer, both
splits) and building shuffled batches of 128 with random crop (pad 2) + flip as float tensors, the same
work as advpoison's loadDataset and DataLoader.

Serves requests on stdin, so the TypeScript side can alternate with it: "load" answers {"seconds": ..}
for one load of both splits; "batch <warmup> <iters>" answers {"ms": ..}, the median ms of one batch."""
import argparse
import json
import sys
import time

import torch

from common import load_idx, timed
from train import augment

BATCH = 128


def batches(images, labels, gen):
    """Endless shuffled batches, as DataLoader(shuffle=True, drop_last=True) yields them, epoch after epoch."""
    n = len(images)
    while True:
        order = torch.randperm(n, generator=gen)
        for b in range(n // BATCH):
            idx = order[b * BATCH:(b + 1) * BATCH]
            yield augment(images[idx].float().div_(255), 2, gen), labels[idx]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(0)
    images, labels = load_idx("train")
    stream = batches(images, labels, gen)
    for line in sys.stdin:
        kind, *args = line.split()
        if kind == "load":
            t0 = time.perf_counter()
            load_idx("train")
            load_idx("test")
            answer = {"seconds": time.perf_counter() - t0}
        else:
            answer = {"ms": timed(lambda: next(stream), int(args[0]), int(args[1]))}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
