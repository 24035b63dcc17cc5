"""PyTorch reference for bench/engine.ts: the same models and steps, timed the same way."""
import argparse
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import timed


class SmallCNN(nn.Module):
    def __init__(self, in_ch=1, classes=10, size=28, bn=True):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 32, 3, padding=1, bias=not bn)
        self.bn1 = nn.BatchNorm2d(32) if bn else nn.Identity()
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=not bn)
        self.bn2 = nn.BatchNorm2d(64) if bn else nn.Identity()
        self.fc1 = nn.Linear(64 * (size // 4) ** 2, 128)
        self.fc2 = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class BasicBlock(nn.Module):
    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or inp != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, in_ch=3, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, inp = [], 64
        for i, planes in enumerate([64, 128, 256, 512]):
            blocks = []
            for s in [1 if i == 0 else 2, 1]:
                blocks.append(BasicBlock(inp, planes, s))
                inp = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.linear = nn.Linear(512, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


def steps(model, shape, variant, device):
    """The three steps of one model, as bench/engine.ts builds them; bf16 is PyTorch's own fast path (autocast to
    bfloat16, channels-last weights and inputs)."""
    bf16 = variant == "bf16"
    model = model.to(device)
    if bf16:
        model = model.to(memory_format=torch.channels_last)
    x = torch.rand(shape, device=device)
    if bf16:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (shape[0],), device=device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)

    def forward(inp):
        with torch.autocast(device.type, torch.bfloat16, enabled=bf16):
            return model(inp).float()

    def train():
        model.train().requires_grad_(True)
        loss = F.cross_entropy(forward(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    eps, step = 8 / 255, 0.1 * 8 / 255
    target = (y + 1) % 10
    lo, hi = x - eps, x + eps
    x_adv = x.clone()

    def pgd():
        nonlocal x_adv
        model.eval().requires_grad_(False)
        inp = x_adv.detach().requires_grad_(True)
        loss = F.cross_entropy(forward(inp), target)
        (g,) = torch.autograd.grad(loss, inp)
        with torch.no_grad():
            x_adv = (inp - step * g.sign()).clamp(lo, hi).clamp(0, 1)

    def forward_only():
        model.eval().requires_grad_(False)
        F.cross_entropy(forward(x_adv.detach().requires_grad_(True)), target)

    def infer():
        model.eval()
        with torch.no_grad():
            forward(x).argmax(1)

    fns = {"train": train, "pgd": pgd, "forward": forward_only, "infer": infer}
    if device.type == "cuda":
        # Time the GPU's work, not its queueing (bench/engine.ts reads a scalar back for the same reason).
        def synced(fn):
            def run():
                fn()
                torch.cuda.synchronize(device)

            return run

        fns = {k: synced(fn) for k, fn in fns.items()}
    return fns


MODELS = {"smallcnn": (SmallCNN, (128, 1, 28, 28)), "resnet18": (ResNet18, (128, 3, 32, 32))}


def main():
    """Serves timing requests so that the TypeScript side can alternate with it closely in time.

    Reads lines "<model>.<step>.<variant> <warmup> <iters>" on stdin (variant fp32 or bf16), answers each with
    the median ms on stdout.
    """
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    device = torch.device(a.device)
    torch.set_num_threads(a.threads)
    built = {}
    for line in sys.stdin:
        case, warmup, iters = line.split()
        model_name, step, variant = case.split(".")
        key = (model_name, variant)
        if key not in built:
            torch.manual_seed(0)
            make, shape = MODELS[model_name]
            built[key] = steps(make(), shape, variant, device)
        ms = timed(built[key][step], int(warmup), int(iters))
        print(json.dumps({"case": case, "ms": ms}), flush=True)


if __name__ == "__main__":
    main()
