#!/usr/bin/env python3
"""One training epoch of the seed CNN in PyTorch (CPU), the baseline for
`gradcore train`'s epoch time: same model, Adam lr 1e-3, batch 128, data
pre-loaded as tensors, [0,1] scaling then (x - 0.1307) / 0.3081.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/train_torch.py [--threads 2] [--epochs 1] [--data data/mnist]
"""
import argparse
import struct
import time

import torch
import torch.nn as nn


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8).reshape(count, 1, rows, cols)
    return torch.frombuffer(bytearray(data[8:]), dtype=torch.uint8).long()


def seed_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--data", default="data/mnist")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    x = (read_idx(f"{a.data}/train-images-idx3-ubyte").float() / 255 - 0.1307) / 0.3081
    y = read_idx(f"{a.data}/train-labels-idx1-ubyte")
    xt = (read_idx(f"{a.data}/t10k-images-idx3-ubyte").float() / 255 - 0.1307) / 0.3081
    yt = read_idx(f"{a.data}/t10k-labels-idx1-ubyte")
    model = seed_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {a.batch}")
    for epoch in range(a.epochs):
        perm = torch.randperm(len(x))
        start = time.perf_counter()
        model.train()
        for i in range(0, len(x), a.batch):
            idx = perm[i:i + a.batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            accuracy = (model(xt).argmax(1) == yt).float().mean().item()
        print(f"epoch {epoch + 1}: {seconds:.2f} s ({len(x) / seconds:.0f} img/s), test accuracy {100 * accuracy:.2f}%")


if __name__ == "__main__":
    main()
