#!/usr/bin/env python3
"""Times Captum's KernelShap on the mlp12 fixture model (32 rows, 200 samples per row), in-process, with Captum's best
batching (all 200 perturbations of a row in one forward call). Prints rows/s.

Run: CAPTUM_SRC=/path/to/captum /usr/bin/python3 build/bench/captum_kernel_shap.py
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import generate_perturbation as P  # noqa: E402  (imports Captum via CAPTUM_SRC)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from captum.attr import KernelShap  # noqa: E402

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
model = P.Mlp12().eval()  # re-exported from build/bench/models.py
x = torch.from_numpy(np.load(os.path.join(P.OUT, "mlp12", "input.npy")))
ks = KernelShap(model)
ks.attribute(x[:2], target=0, n_samples=200, perturbations_per_eval=200)  # warm-up
runs = []
for _ in range(3):
    start = time.perf_counter()
    ks.attribute(x, target=0, n_samples=200, perturbations_per_eval=200)
    runs.append(time.perf_counter() - start)
best = min(runs)
print(f"captum KernelShap mlp12 32 rows x 200 samples: {best * 1000:.1f} ms ({x.shape[0] / best:.1f} rows/s), "
      f"torch {torch.__version__}, {torch.get_num_threads()} threads")
