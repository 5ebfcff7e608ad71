"""Architecture zoo for gradient checks: exports models to ONNX with torch.autograd input gradients as fixtures.

Run by hand (Debian's python3-torch 1.13 / python3-torchvision 0.14; no pretrained weights, random weights with a
fixed seed):

    /usr/bin/python3 build/zoo/generate.py                 # the committed subset -> test/.../Fixtures/zoo_arch
    /usr/bin/python3 build/zoo/generate.py --all --out DIR # every architecture (hundreds of MB)

Each case is a folder <model>_op<opset>/ with model.onnx, input.npy (float32), seed.npy (dOutput, float32),
grad64.npy (torch fp64 gradient of sum(seed * model(input)) w.r.t. the input, the model and input cast to double)
and grad32.npy (the same in float32), plus case.json (input/output names, opset, shapes, torch version).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision import models

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "..", "test", "Microsoft.ML.Attribution.Tests", "Fixtures", "zoo_arch")


class TextEncoder(nn.Module):
    """A two-layer transformer encoder over float token features, mean-pooled into a classifier."""

    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.encoder(x).mean(dim=1))


class Recurrent(nn.Module):
    """LSTM / GRU / RNN over [batch, seq, features]; the head reads every time step (all outputs carry gradient)."""

    def __init__(self, kind, bidirectional, layers, initial_state):
        super().__init__()
        cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
        self.kind = kind
        self.rnn = cls(input_size=6, hidden_size=8, num_layers=layers, batch_first=True, bidirectional=bidirectional)
        directions = 2 if bidirectional else 1
        self.initial_state = initial_state
        if initial_state:
            self.h0 = nn.Parameter(torch.randn(layers * directions, 1, 8) * 0.5)
            self.c0 = nn.Parameter(torch.randn(layers * directions, 1, 8) * 0.5)
        self.head = nn.Linear(8 * directions, 3)

    def forward(self, x):
        if self.initial_state:
            h0 = self.h0.expand(-1, x.shape[0], -1).contiguous()
            state = (h0, self.c0.expand(-1, x.shape[0], -1).contiguous()) if self.kind == "lstm" else h0
            y, _ = self.rnn(x, state)
        else:
            y, _ = self.rnn(x)
        return self.head(torch.tanh(y)).sum(dim=1)


class Cnn1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(6, 12, 3, padding=1), nn.GELU(), nn.MaxPool1d(2), nn.Conv1d(12, 8, 3),
                                 nn.SiLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, 3))

    def forward(self, x):
        return self.net(x.transpose(1, 2))


def vit_tiny():
    return models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64,
                                    num_classes=10)


def swin_tiny():
    from torchvision.models.swin_transformer import SwinTransformer
    return SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 2], num_heads=[2, 4], window_size=[4, 4],
                           stochastic_depth_prob=0.0, num_classes=10)


IMAGE = (2, 3, 32, 32)
SEQUENCE = (2, 5, 6)

# name -> (constructor, input shape, committed). The committed subset keeps the fixture folder to a few MB.
MODELS = {
    "mobilenet_v3_small": (lambda: models.mobilenet_v3_small(width_mult=0.25, num_classes=10), IMAGE, True),
    "vit_tiny": (vit_tiny, IMAGE, True),
    "swin_tiny": (swin_tiny, IMAGE, True),
    "text_encoder": (TextEncoder, (2, 5, 16), True),
    "lstm_bidirectional": (lambda: Recurrent("lstm", True, 2, False), SEQUENCE, True),
    "lstm_initial_state": (lambda: Recurrent("lstm", False, 1, True), SEQUENCE, True),
    "gru": (lambda: Recurrent("gru", True, 1, False), SEQUENCE, True),
    "gru_initial_state": (lambda: Recurrent("gru", False, 1, True), SEQUENCE, True),
    "rnn": (lambda: Recurrent("rnn", True, 1, False), SEQUENCE, True),
    "cnn1d": (Cnn1d, (2, 8, 6), True),
    "squeezenet1_1": (lambda: models.squeezenet1_1(num_classes=10), (1, 3, 64, 64), False),
    "resnet18": (lambda: models.resnet18(num_classes=10), (1, 3, 64, 64), False),
    "mobilenet_v2": (lambda: models.mobilenet_v2(num_classes=10), (1, 3, 64, 64), False),
    "mobilenet_v3_large": (lambda: models.mobilenet_v3_large(num_classes=10), (1, 3, 64, 64), False),
    "efficientnet_b0": (lambda: models.efficientnet_b0(num_classes=10), (1, 3, 64, 64), False),
    "densenet121": (lambda: models.densenet121(num_classes=10), (1, 3, 64, 64), False),
    "googlenet": (lambda: models.googlenet(num_classes=10, aux_logits=False, init_weights=True), (1, 3, 64, 64), False),
    "vgg11_bn": (lambda: models.vgg11_bn(num_classes=10), (1, 3, 64, 64), False),
    "shufflenet_v2_x0_5": (lambda: models.shufflenet_v2_x0_5(num_classes=10), (1, 3, 64, 64), False),
    "regnet_y_400mf": (lambda: models.regnet_y_400mf(num_classes=10), (1, 3, 64, 64), False),
    "convnext_tiny": (lambda: models.convnext_tiny(num_classes=10), (1, 3, 64, 64), False),
    "swin_t": (lambda: models.swin_t(num_classes=10), (1, 3, 64, 64), False),
    "vit_b_16": (lambda: models.vit_b_16(image_size=64, num_classes=10), (1, 3, 64, 64), False),
}

OPSETS = (13, 17)


def gradient(model, x, seed, dtype):
    m = model.to(dtype)
    xi = x.to(dtype).clone().requires_grad_(True)
    (m(xi) * seed.to(dtype)).sum().backward()
    return xi.grad.detach().to(torch.float64).numpy()


def generate(name, out_root):
    build, shape, _ = MODELS[name]
    torch.manual_seed(0)
    model = build().eval()
    # Some architectures zero-initialise their classifier (torchvision's ViT head), which zeroes every input gradient.
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 2 and not parameter.any():
                parameter.normal_(0, 0.1)
    # BatchNorm statistics are random too, so that inference-mode normalisation is not the identity.
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    x = torch.randn(*shape)
    with torch.no_grad():
        y = model(x)
    seed = torch.randn(*y.shape)
    grad32 = gradient(model, x, seed, torch.float32)
    grad64 = gradient(model, x, seed, torch.float64)
    model = model.float()
    for opset in OPSETS:
        folder = os.path.join(out_root, f"{name}_op{opset}")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "model.onnx")
        torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, do_constant_folding=True)
        np.save(os.path.join(folder, "input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(folder, "seed.npy"), seed.numpy().astype(np.float32))
        np.save(os.path.join(folder, "grad64.npy"), grad64)
        np.save(os.path.join(folder, "grad32.npy"), grad32.astype(np.float32))
        with open(os.path.join(folder, "case.json"), "w") as f:
            json.dump({"model": name, "opset": opset, "input": "input", "output": "output", "input_shape": list(shape),
                       "torch": torch.__version__, "torchvision": torchvision.__version__}, f, indent=1)
        print(name, opset, os.path.getsize(path), "bytes", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--all", action="store_true", help="every architecture, not only the committed subset")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    names = args.names or [n for n, (_, _, committed) in MODELS.items() if args.all or committed]
    for name in names:
        try:
            generate(name, args.out)
        except Exception as e:  # one architecture failing to export must not stop the rest
            print(f"{name}: {type(e).__name__}: {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
