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
stats = {b["Method"]: b["Statistics"] for b in json.load(open(report))["Benchmarks"] if b.get("Statistics")}
ours = {name: s["Median"] / 1e9 for name, s in stats.items()}
ours_min = {name: s["Min"] / 1e9 for name, s in stats.items()}
captum_min = captum.get("min_seconds", {})

WORKLOADS = [
    ("ig_resnet", "IG 50 steps, ResNet-style CNN, 16 × 3×32×32"),
    ("gradcam_resnet", "GradCAM (last block), ResNet-style CNN, 16 × 3×32×32"),
    ("occlusion_mnist", "Occlusion window 4 stride 2, MNIST-style CNN, 16 images"),
    ("layer_ig_text", "LayerIG on the embedding, transformer classifier, 32 × 16 tokens"),
    ("feature_ablation_mlp", "FeatureAblation, MLP, 1,024 rows × 12 features"),
    ("shapley_sampling_mlp", "ShapleyValueSampling, MLP, 256 rows, 25 samples"),
    ("kernel_shap_mlp", "KernelShap, MLP, 32 rows, 200 samples"),
    ("ig_resnet_64", "IG 50 steps, ResNet-style CNN, 64 × 3×32×32"),
    ("occlusion_mnist_64", "Occlusion window 4 stride 2, MNIST-style CNN, 64 images"),
    ("layer_ig_text_256x64", "LayerIG on the embedding, transformer classifier, 256 × 64 tokens"),
    ("shapley_sampling_mlp_4000", "ShapleyValueSampling, MLP, 4,000 rows, 25 samples"),
    ("kernel_shap_mlp_4000", "KernelShap, MLP, 4,000 rows, 200 samples"),
]
dotnet = subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip()
lines = [
    "# Speed: Microsoft.ML.Attribution vs Captum on the same CPU",
    "",
    f"Machine: {captum['machine']} ({platform.platform()}); date {captum['date']}.",
    f"Captum {captum['captum_commit'][:8]} on PyTorch {captum['torch']} ({captum['threads']} threads), best batching "
    "(internal_batch_size=None, perturbations_per_eval = all perturbations), median of 7–50 timed runs after a warm-up.",
    f"Ours: .NET {dotnet}, ONNX Runtime 1.31.1 CPU provider, default threads (one per core), BenchmarkDotNet median "
    "(3 warm-up, 15 measured iterations). The speed-up compares medians; the min columns show each side's best run.",
    "Produced by `CAPTUM_SRC=… bash build/bench/compare.sh` (one run of the harness).",
    "",
    "| workload | Captum (ms) | ours (ms) | speed-up | Captum min | ours min |",
    "|---|---:|---:|---:|---:|---:|",
]


def ms(seconds):
    return "n/a" if seconds is None else f"{seconds * 1000:.1f}"


for key, title in WORKLOADS:
    c, o = captum["seconds"].get(key), ours.get(key)
    ratio = f"{c / o:.1f}×" if c and o else "n/a"
    lines.append(f"| {title} | {ms(c)} | {ms(o)} | {ratio} | {ms(captum_min.get(key))} | {ms(ours_min.get(key))} |")
scaling = sorted(glob.glob(os.path.join(HERE, "artifacts", "results", "*ScalingBenchmarks*-report-full-compressed.json")))
if scaling:
    runs = [b for b in json.load(open(scaling[-1]))["Benchmarks"] if b.get("Statistics")]
    threads = sorted({int(b["Parameters"].split("=")[1]) for b in runs})
    lines += ["", "Scaling with ONNX Runtime's intra-op threads (BenchmarkDotNet median, ms; cores on this machine: "
              f"{os.cpu_count()}):", "", "| workload | " + " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in threads) + " |",
              "|---|" + "---:|" * len(threads)]
    for method in sorted({b["Method"] for b in runs}):
        cells = [next((f"{b['Statistics']['Median'] / 1e6:.1f}" for b in runs
                       if b["Method"] == method and b["Parameters"] == f"Threads={t}"), "n/a") for t in threads]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
memory = os.path.join(HERE, "artifacts", "memory.txt")
if os.path.exists(memory):
    lines += ["", "Peak memory (VmHWM of the whole process) of Integrated Gradients, 50 steps, wine MLP, automatic chunking:", ""]
    lines += [f"- {line.strip()}" for line in open(memory) if line.strip()]
lines += ["", "GPU: " + os.environ.get("GPU_NOTE", "not measured in this run (no GPU machine; the CUDA build of ONNX Runtime, "
                                               "Microsoft.ML.OnnxRuntime.Gpu, is not served by this workplace's NuGet mirror).")]
text = "\n".join(lines) + "\n"
print(text)
open(os.path.join(HERE, "RESULTS.md"), "w").write(text)
