#!/usr/bin/python3
"""PyTorch CPU baseline for bench/kernels/bench_conv2d.cpp.

Times the seed CNN's three conv layers (batch 128, 3x3, stride 1, no padding:
1->32 on 28x28, 32->64 on 13x13, 64->64 on 5x5) forward and backward on 2
threads, pass by pass and as a whole training step (forward, grad-weight,
grad-bias, and grad-input except for layer 0, whose input needs no gradient,
as in training). PyTorch's CPU convolution runs on oneDNN (mkldnn).

    /usr/bin/python3 bench/conv_torch.py [--threads 2] [--repeats 7]

Prints one table: best and median milliseconds over the repeats, and GFLOP/s
of the best (2*n*c_out*oh*ow*c_in*kh*kw per pass).

glibc hands large freed blocks back to the OS, so every PyTorch call that
allocates a fresh output page-faults it in again (several times slower on this
machine for layer 0). To time PyTorch without that, keep freed memory in the
process:
    MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000 \
        /usr/bin/python3 bench/conv_torch.py
The header line says whether those variables are set.
"""
import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

LAYERS = [(1, 32, 28), (32, 64, 13), (64, 64, 5)]  # (c_in, c_out, h = w)
BATCH, K = 128, 3


def flops(c_in, c_out, hw):
    out = hw - K + 1
    return 2.0 * BATCH * c_out * out * out * c_in * K * K


def time_ms(fn, repeats, inner):
    """Best and median over `repeats` of the mean of `inner` calls, in ms."""
    fn()  # warm-up: primitive creation, first-touch of buffers
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) * 1e3 / inner)
    return min(samples), statistics.median(samples)


def make_layer(c_in, c_out, hw, input_grad):
    gen = torch.Generator().manual_seed(c_in * 1000 + c_out)
    x = torch.rand(BATCH, c_in, hw, hw, generator=gen) * 2 - 1
    x.requires_grad_(input_grad)
    w = (torch.rand(c_out, c_in, K, K, generator=gen) * 2 - 1).requires_grad_(True)
    b = (torch.rand(c_out, generator=gen) * 2 - 1).requires_grad_(True)
    dy = torch.rand(BATCH, c_out, hw - K + 1, hw - K + 1, generator=gen) * 2 - 1
    return x, w, b, dy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--inner", type=int, default=10, help="calls per timed sample")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"mkldnn {torch.backends.mkldnn.is_available()}, batch {BATCH}, "
          f"MALLOC_MMAP_THRESHOLD_={os.environ.get('MALLOC_MMAP_THRESHOLD_', 'unset')}")
    print(f"{'pass':<28}{'best ms':>10}{'median ms':>11}{'GFLOP/s':>10}")

    def row(name, fn, gflop):
        best, median = time_ms(fn, args.repeats, args.inner)
        print(f"{name:<28}{best:>10.3f}{median:>11.3f}{gflop / best * 1e3:>10.1f}")

    layers = []
    for i, (c_in, c_out, hw) in enumerate(LAYERS):
        x, w, b, dy = make_layer(c_in, c_out, hw, input_grad=True)
        layers.append(make_layer(c_in, c_out, hw, input_grad=i > 0))
        gflop = flops(c_in, c_out, hw) * 1e-9
        with torch.no_grad():
            row(f"layer{i} forward", lambda: F.conv2d(x, w, b), gflop)
        y = F.conv2d(x, w, b)
        row(f"layer{i} grad-input", lambda: torch.autograd.grad(y, x, dy, retain_graph=True), gflop)
        row(f"layer{i} grad-weight+bias",
            lambda: torch.autograd.grad(y, (w, b), dy, retain_graph=True), gflop)

    def train_step():
        for x, w, b, dy in layers:
            F.conv2d(x, w, b).backward(dy)

    total = sum(flops(*l) * (2 if i == 0 else 3) for i, l in enumerate(LAYERS)) * 1e-9
    row("train step (3 layers)", train_step, total)


if __name__ == "__main__":
    main()
