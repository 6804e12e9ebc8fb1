#!/usr/bin/python3
"""PyTorch models exported with torch.onnx.export, for the ONNX import test.

    /usr/bin/python3 tests/onnx/torch_models.py OUT_DIR INPUTS.bin N

Builds, with seeded random weights, the seed CNN, LeNet-5, a network with
what else the importer takes (stride, padding, dilation, a conv without bias,
average pooling, tanh, sigmoid, a Reshape to a constant shape, MatMul + Add)
and one whose kernels, strides, paddings and dilations differ between the
axes, with padded pooling,
exports each at opsets 11, 13 and 17 to OUT_DIR/<name>-opset<k>.onnx with a
symbolic batch, and writes the float32 logits PyTorch computes for the N
normalised [1, 28, 28] images in INPUTS.bin to OUT_DIR/<name>.logits.bin.
"""
import array
import sys

import torch
from torch import nn


class MatMulAdd(nn.Module):
    """x @ w + b, which exports as MatMul then Add (not Gemm)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n_in, n_out) / n_in ** 0.5)
        self.b = nn.Parameter(torch.randn(n_out) * 0.1)

    def forward(self, x):
        return x @ self.w + self.b


class Odd(nn.Module):
    # 28 -> conv k3 s2 p1: 14 -> conv k3 p2 d2: 14 -> avgpool 2: 7 -> maxpool 2 s1: 6
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.Tanh(),
            nn.Conv2d(8, 6, 3, padding=2, dilation=2, bias=False), nn.Sigmoid(),
            nn.AvgPool2d(2), nn.MaxPool2d(2, stride=1))
        self.hidden = MatMulAdd(216, 32)
        self.out = nn.Linear(32, 10)

    def forward(self, x):
        x = self.features(x).view(-1, 216)  # a Reshape to the constant shape [-1, 216]
        return self.out(torch.tanh(self.hidden(x)))


def axes():
    # 28x28 -> conv (3,5) s(2,1) p(1,2) d(1,2): 14x24 -> maxpool 3 s2 p1: 7x12
    # -> conv (1,3) p(0,1): 7x12 -> avgpool (2,3) s(2,1) p1 (a Pad, then the pool): 4x12
    return nn.Sequential(
        nn.Conv2d(1, 6, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2)), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1), nn.Conv2d(6, 8, (1, 3), padding=(0, 1)), nn.Tanh(),
        nn.AvgPool2d((2, 3), stride=(2, 1), padding=1), nn.Flatten(), nn.Linear(384, 10))


def models():
    yield "seed-cnn", nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(), nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))
    yield "lenet5", nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    yield "odd", Odd()
    yield "axes", axes()


def main(out_dir, inputs_path, n):
    torch.manual_seed(22)
    with open(inputs_path, "rb") as f:
        images = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(n, 1, 28, 28)
    for name, model in models():
        model.eval()
        with torch.no_grad():
            logits = model(images)
        with open(f"{out_dir}/{name}.logits.bin", "wb") as f:
            array.array("f", logits.flatten().tolist()).tofile(f)  # no numpy needed
        for opset in (11, 13, 17):
            torch.onnx.export(model, images[:2], f"{out_dir}/{name}-opset{opset}.onnx", opset_version=opset,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
