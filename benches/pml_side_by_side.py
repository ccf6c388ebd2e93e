"""pytorch-metric-learning 2.8.1's `AccuracyCalculator` and our `evaluate` on the same inputs:
map@R, R-precision and MRR, side by side.

Writes N random rows (queries = gallery = all rows, D-dim N(0, 1) float32 features, labels
uniform over N/10 identities, numpy seed 0) to embeddings.npy + dataset.csv in a scratch folder,
times PML's calculator (its defaults: `k=None`, the whole reference set ranked; exact k-NN on the
CPU with `CustomKNN`, as faiss is not installed) in a child process, then our `metrics_peak
--ranking` on the same files, checks that the values agree, and prints time and peak memory.

Run by hand, not by CI, with PML in a venv outside the repository:

    python3 -m venv ~/.cache/oml-venv
    ~/.cache/oml-venv/bin/pip install torch pytorch-metric-learning==2.8.1
    cargo build --release -p oml-benches --bin metrics_peak
    ~/.cache/oml-venv/bin/python benches/pml_side_by_side.py --n 10000 [--ours PATH]

PML holds a [N, N - 1] k-NN matrix (distances and int64 indices, 12 bytes an entry), so its
memory grows with N²: 60k rows (SOP's test set) would need about 43 GB for that matrix alone.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oml_side_by_side import write_inputs  # noqa: E402

NAMES = {"mean_average_precision_at_r": "map@r", "r_precision": "r_precision",
         "mean_reciprocal_rank": "mrr"}


def run_pml(folder: Path) -> dict:
    """Child-process body: PML on the files, JSON on stdout."""
    import torch
    from pytorch_metric_learning.distances import LpDistance
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    from pytorch_metric_learning.utils.inference import CustomKNN

    emb = torch.from_numpy(np.load(folder / "embeddings.npy"))
    labels = torch.from_numpy(np.loadtxt(folder / "dataset.csv", delimiter=",", skiprows=1,
                                         usecols=0, dtype=np.int64))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    calc = AccuracyCalculator(include=tuple(NAMES), k=None,
                              knn_func=CustomKNN(LpDistance(normalize_embeddings=False)))
    result = calc.get_accuracy(emb, labels)
    return {
        "seconds": time.perf_counter() - start,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_mib_before_metrics": rss_before,
        "torch_threads": torch.get_num_threads(),
        "metrics": {NAMES[k]: v for k, v in result.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--ours", type=str, default="")
    parser.add_argument("--child", type=str, default="")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_pml(Path(args.child))))
        return

    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/oml-rs/target"))
    ours_bin = args.ours or str(target / "release" / "metrics_peak")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_inputs(folder, args.n, args.dim)
        child = [sys.executable, __file__, "--n", str(args.n), "--child", tmp]
        pml = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
        cmd = [ours_bin, "--embeddings", str(folder / "embeddings.npy"),
               "--dataset", str(folder / "dataset.csv"), "--ranking"]
        ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    worst = max(abs(ours["metrics"]["OVERALL"][k] - v) for k, v in pml["metrics"].items())
    print(f"N = {args.n}, D = {args.dim}; torch threads {pml['torch_threads']}")
    for name, side in [("PML 2.8.1 AccuracyCalculator", pml), ("oml-core evaluate", ours)]:
        print(f"  {name:29} {side['seconds']:.3f} s, peak RSS {side['peak_rss_mib']:.0f} MiB "
              f"({side['peak_rss_mib'] - side['peak_rss_mib_before_metrics']:.0f} MiB above the "
              f"loaded inputs)")
    print(f"  speed-up {pml['seconds'] / ours['seconds']:.1f}x; largest metric difference "
          f"{worst:.2e}; PML {pml['metrics']}")


if __name__ == "__main__":
    main()
