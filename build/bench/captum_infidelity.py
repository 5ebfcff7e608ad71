#!/usr/bin/env python3
"""Times Captum's ``infidelity`` of Integrated Gradients on 64 MNIST-style images with 10 Gaussian perturbations each
(σ 0.003, perturbed input x − I), the workload of test/Microsoft.ML.Attribution.Benchmarks/InfidelityBenchmarks.cs:
same model and rows (build/bench/models.py), IG (50 steps, target 0) computed once beforehand, all 640 perturbed rows
in one forward (Captum's default max_examples_per_batch=None). Prints the median and minimum of the timed runs.

Run: CAPTUM_SRC=/path/to/captum /usr/bin/python3 build/bench/captum_infidelity.py [repeats]
"""
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import generate as G  # noqa: E402,F401  (imports Captum from CAPTUM_SRC with its shims)

import torch  # noqa: E402
from captum.attr import IntegratedGradients  # noqa: E402
from captum.metrics import infidelity  # noqa: E402

import models as M  # noqa: E402

torch.use_deterministic_algorithms(False)
torch.set_num_threads(int(os.environ.get("THREADS", os.cpu_count() or 1)))


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    model = M.MODELS["mnist"]().eval()
    x = M.large_inputs()["mnist"]
    attributions = IntegratedGradients(model).attribute(x, target=0, n_steps=50).detach()
    gen = torch.Generator().manual_seed(17)

    def perturb(inputs):
        noise = torch.randn(inputs.shape, generator=gen) * 0.003
        return noise, inputs - noise

    def run():
        return infidelity(model, perturb, x, attributions, target=0, n_perturb_samples=10)

    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"infidelity_ig_mnist_64  median {statistics.median(times) * 1000:.1f} ms   min {times[0] * 1000:.1f} ms   "
          f"({repeats} runs, torch {torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
