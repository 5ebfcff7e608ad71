#!/usr/bin/env python3
"""Times Captum in-process on the comparison workloads (models and inputs from build/bench/models.py) and writes
build/bench/captum_times.json. Captum gets its best batching: all steps/perturbations of a call in one forward where the
API allows it (internal_batch_size=None, perturbations_per_eval = the number of perturbations). Each workload records the
median ("seconds", compared with BenchmarkDotNet's median of ours) and the minimum of its timed runs.

Run: CAPTUM_SRC=/path/to/captum /usr/bin/python3 build/bench/captum_bench.py
"""
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import generate as G  # noqa: E402,F401  (imports Captum from CAPTUM_SRC with its shims)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from captum.attr import (FeatureAblation, IntegratedGradients, KernelShap, LayerGradCam,  # noqa: E402
                         LayerIntegratedGradients, Occlusion, ShapleyValueSampling)

import models as M  # noqa: E402

torch.use_deterministic_algorithms(False)
torch.set_num_threads(int(os.environ.get("THREADS", os.cpu_count() or 1)))


def timings(fn, repeats, warmup=None):
    """Median and minimum seconds of `repeats` timed calls after one warm-up call (`warmup`, else `fn`)."""
    (warmup or fn)()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times), times[0]


def main():
    data = M.inputs()
    resnet, mnist, text, mlp = (M.MODELS[n]().eval() for n in ("resnet", "mnist", "text", "mlp"))
    x_resnet, x_mnist, ids, x_mlp = data["resnet"], data["mnist"], data["text"], data["mlp"]
    large = M.large_inputs()
    text64 = M.TextClassifier(64).eval()
    workloads = {
        "ig_resnet": (lambda: IntegratedGradients(resnet).attribute(x_resnet, target=0, n_steps=50), 7),
        "gradcam_resnet": (lambda: LayerGradCam(resnet, resnet.blocks[1][4]).attribute(x_resnet, target=0,
                                                                                      relu_attributions=True), 50),
        "occlusion_mnist": (lambda: Occlusion(mnist).attribute(x_mnist, sliding_window_shapes=(1, 4, 4), strides=(1, 2, 2),
                                                               target=0, perturbations_per_eval=169), 15),
        "layer_ig_text": (lambda: LayerIntegratedGradients(text, text.embedding).attribute(
            ids, baselines=torch.zeros_like(ids), target=0, n_steps=50), 15),
        "feature_ablation_mlp": (lambda: FeatureAblation(mlp).attribute(x_mlp, target=0, perturbations_per_eval=12), 50),
        "shapley_sampling_mlp": (lambda: ShapleyValueSampling(mlp).attribute(x_mlp[:256], target=0, n_samples=25,
                                                                             perturbations_per_eval=12), 20),
        "kernel_shap_mlp": (lambda: KernelShap(mlp).attribute(x_mlp[:32], target=0, n_samples=200,
                                                              perturbations_per_eval=200), 10),
        # The sizes users run (issue 13). KernelShap fits one surrogate per row in Captum (about 2 s per 100 rows here), so
        # its warm-up is a 32-row call and it is timed once.
        "ig_resnet_64": (lambda: IntegratedGradients(resnet).attribute(large["resnet"], target=0, n_steps=50), 3),
        "occlusion_mnist_64": (lambda: Occlusion(mnist).attribute(large["mnist"], sliding_window_shapes=(1, 4, 4),
                                                                  strides=(1, 2, 2), target=0, perturbations_per_eval=169), 5),
        "layer_ig_text_256x64": (lambda: LayerIntegratedGradients(text64, text64.embedding).attribute(
            large["text64"], baselines=torch.zeros_like(large["text64"]), target=0, n_steps=50), 3),
        "shapley_sampling_mlp_4000": (lambda: ShapleyValueSampling(mlp).attribute(large["mlp"], target=0, n_samples=25,
                                                                                  perturbations_per_eval=12), 5),
        "kernel_shap_mlp_4000": (lambda: KernelShap(mlp).attribute(large["mlp"], target=0, n_samples=200,
                                                                   perturbations_per_eval=200), 1,
                                 lambda: KernelShap(mlp).attribute(x_mlp[:32], target=0, n_samples=200,
                                                                   perturbations_per_eval=200)),
    }
    only = os.environ.get("WORKLOADS")
    if only:
        workloads = {k: v for k, v in workloads.items() if k in only.split(",")}
    result = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "torch": torch.__version__, "threads": torch.get_num_threads(), "captum_commit": G.C.commit,
              "date": time.strftime("%Y-%m-%d"), "seconds": {}, "min_seconds": {}}
    with torch.no_grad() if False else torch.enable_grad():
        for name, (fn, repeats, *warmup) in workloads.items():
            median, best = timings(fn, repeats, *warmup)
            result["seconds"][name] = median
            result["min_seconds"][name] = best
            print(f"{name:<24} median {median * 1000:10.1f} ms   min {best * 1000:10.1f} ms   ({repeats} runs)")
    if only:
        return  # a partial run prints its times and leaves captum_times.json to full runs
    with open(os.path.join(HERE, "captum_times.json"), "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    main()
