#!/usr/bin/env python3
"""Joins captum_times.json with BenchmarkDotNet's JSON report into a table (stdout and build/bench/RESULTS.md)."""
import glob
import json
import os
import platform
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
captum = json.load(open(os.path.join(HERE, "captum_times.json")))
report = sorted(glob.glob(os.path.join(HERE, "artifacts", "results", "*ComparisonBenchmarks*-report-full-compressed.json")))[-1]
ours = {b["Method"]: b["Statistics"]["Mean"] / 1e9 for b in json.load(open(report))["Benchmarks"] if b.get("Statistics")}

WORKLOADS = [
    ("ig_resnet", "IG 50 steps, ResNet-style CNN, 16 × 3×32×32"),
    ("gradcam_resnet", "GradCAM (last block), ResNet-style CNN, 16 × 3×32×32"),
    ("occlusion_mnist", "Occlusion window 4 stride 2, MNIST-style CNN, 16 images"),
    ("layer_ig_text", "LayerIG on the embedding, transformer classifier, 32 × 16 tokens"),
    ("feature_ablation_mlp", "FeatureAblation, MLP, 1,024 rows × 12 features"),
    ("shapley_sampling_mlp", "ShapleyValueSampling, MLP, 256 rows, 25 samples"),
    ("kernel_shap_mlp", "KernelShap, MLP, 32 rows, 200 samples"),
]
dotnet = subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip()
lines = [
    "# Speed: Microsoft.ML.Attribution vs Captum on the same CPU",
    "",
    f"Machine: {captum['machine']} ({platform.platform()}); date {captum['date']}.",
    f"Captum {captum['captum_commit'][:8]} on PyTorch {captum['torch']} ({captum['threads']} threads), best of several runs, "
    "best batching (internal_batch_size=None, perturbations_per_eval = all perturbations).",
    f"Ours: .NET {dotnet}, ONNX Runtime 1.31.1 CPU provider, default threads, BenchmarkDotNet short job (mean).",
    "Produced by `CAPTUM_SRC=… bash build/bench/compare.sh`.",
    "",
    "| workload | Captum (ms) | ours (ms) | speed-up |",
    "|---|---:|---:|---:|",
]
for key, title in WORKLOADS:
    c = captum["seconds"].get(key)
    o = ours.get(key)
    ratio = f"{c / o:.1f}×" if c and o else "n/a"
    lines.append(f"| {title} | {c * 1000:.1f} | {'n/a' if o is None else f'{o * 1000:.1f}'} | {ratio} |"
                 if c else f"| {title} | n/a | n/a | n/a |")
text = "\n".join(lines) + "\n"
print(text)
open(os.path.join(HERE, "RESULTS.md"), "w").write(text)
