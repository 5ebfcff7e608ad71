#!/usr/bin/env python3
"""The models and inputs of the speed comparison (ours vs Captum), defined once for both sides.

`python3 build/bench/models.py` exports every model to build/bench/models/<name>/model.onnx with its input.npy, so the
C# benchmarks (test/Microsoft.ML.Attribution.Benchmarks/ComparisonBenchmarks.cs) run exactly what
build/bench/captum_bench.py runs in PyTorch. Weights are seeded, so re-exporting reproduces the same files.
"""
import os

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "models")


class ResNetish(nn.Module):
    """3×32×32 images → 10 classes: stem conv + two residual blocks (Conv-BN-ReLU-Conv-BN + skip) + GAP + Linear."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.ModuleList()
        for _ in range(2):
            self.blocks.append(nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                             nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16)))
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(16, 10)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = self.relu(x + block(x))
        return self.head(torch.flatten(self.pool(x), 1))


class MnistCnn(nn.Module):
    """1×28×28 → 10: Conv-ReLU-MaxPool-Conv-ReLU-AvgPool-Linear-ReLU-Linear."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(),
                                      nn.AvgPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * 5 * 5, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class TextClassifier(nn.Module):
    """Token ids [N, tokens] (vocab 1000) → 2: embedding + learned positions, one encoder layer, mean pool, Linear."""

    def __init__(self, tokens=16):
        super().__init__()
        torch.manual_seed(3)
        self.embedding = nn.Embedding(1000, 32)
        self.position = nn.Parameter(torch.randn(tokens, 32) * 0.1)
        self.encoder = nn.TransformerEncoderLayer(32, 2, 64, dropout=0.0, batch_first=True)
        self.head = nn.Linear(32, 2)

    def forward(self, ids):
        h = self.embedding(ids) + self.position
        return self.head(self.encoder(h).mean(dim=1))


class Mlp12(nn.Module):
    """12 features → 3 classes."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(12)
        self.net = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 3))

    def forward(self, x):
        return self.net(x)


def inputs():
    g = torch.Generator().manual_seed(99)
    return {
        "resnet": torch.rand(16, 3, 32, 32, generator=g),
        "mnist": torch.rand(16, 1, 28, 28, generator=g),
        "text": torch.randint(2, 1000, (32, 16), generator=g),
        "mlp": torch.randn(1024, 12, generator=g),
    }


def large_inputs():
    """The sizes users run (issue 13): drawn from their own generator, so the small inputs above stay as they were."""
    g = torch.Generator().manual_seed(1313)
    return {
        "resnet": torch.rand(64, 3, 32, 32, generator=g),
        "mnist": torch.rand(64, 1, 28, 28, generator=g),
        "text64": torch.randint(2, 1000, (256, 64), generator=g),
        "mlp": torch.randn(4000, 12, generator=g),
    }


MODELS = {"resnet": ResNetish, "mnist": MnistCnn, "text": TextClassifier, "mlp": Mlp12}


def export_all():
    data = inputs()
    for name, cls in MODELS.items():
        model = cls().eval()
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        x = data[name]
        torch.onnx.export(model, (x,), os.path.join(folder, "model.onnx"), input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=14,
                          do_constant_folding=True)
        np.save(os.path.join(folder, "input.npy"), x.numpy())
        print(f"exported {name}: input {tuple(x.shape)} {x.dtype}")
    # The text classifier again at opset 17, where LayerNorm exports as one LayerNormalization op (tests use both).
    folder = os.path.join(OUT, "text17")
    os.makedirs(folder, exist_ok=True)
    torch.onnx.export(MODELS["text"]().eval(), (data["text"],), os.path.join(folder, "model.onnx"), input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=17,
                      do_constant_folding=True)
    np.save(os.path.join(folder, "input.npy"), data["text"].numpy())
    large = large_inputs()
    folder = os.path.join(OUT, "text64")
    os.makedirs(folder, exist_ok=True)
    torch.onnx.export(TextClassifier(64).eval(), (large["text64"],), os.path.join(folder, "model.onnx"), input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=14,
                      do_constant_folding=True)
    np.save(os.path.join(folder, "input.npy"), large["text64"].numpy())
    for name in ("resnet", "mnist", "mlp"):
        np.save(os.path.join(OUT, name, "input_large.npy"), large[name].numpy())


if __name__ == "__main__":
    torch.set_num_threads(1)
    export_all()
