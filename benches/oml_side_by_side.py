"""OML 4.0.0 `EmbeddingMetrics` and our `evaluate` on the same inputs, side by side.

Writes N random rows (queries = gallery = all rows, D-dim N(0, 1) float32 features, labels
uniform over N/10 identities, numpy seed 0) to embeddings.npy + dataset.csv in a scratch folder,
times OML's EmbeddingMetrics (setup/update/compute_metrics, cmc/precision/map at 1,5,10 and
pcf 0.5, optionally fnmr@fmr) in this process, then runs our `metrics_peak` binary on the same
files, checks that the metrics agree, and prints time, peak memory and the ratio.

Run by hand, not by CI, with OML in a venv outside the repository:

    python3 -m venv ~/.cache/oml-venv
    ~/.cache/oml-venv/bin/pip install open-metric-learning==4.0.0 omegaconf
    cargo build --release -p oml-benches --bin metrics_peak
    ~/.cache/oml-venv/bin/python benches/oml_side_by_side.py --n 10000 [--fmr 0.001,0.01,0.1]

Peak memory of each side is measured in its own process (`ru_maxrss`), OML's in a child
process so that torch's import is counted once and nothing else is.
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

REPO = Path(__file__).resolve().parent.parent


def write_inputs(folder: Path, n: int, dim: int) -> None:
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((n, dim), dtype=np.float32)
    labels = rng.integers(0, max(n // 10, 2), n)
    np.save(folder / "embeddings.npy", emb)
    with open(folder / "dataset.csv", "w") as f:
        f.write("label,path,split,is_query,is_gallery\n")
        for i, label in enumerate(labels):
            f.write(f"{label},img/{i}.png,validation,True,True\n")


def run_oml(folder: Path, fmr: tuple) -> dict:
    """Child-process body: OML on the files, JSON on stdout."""
    import pandas as pd
    import torch
    from oml.datasets.images import ImageQueryGalleryLabeledDataset
    from oml.metrics.embeddings import EmbeddingMetrics

    emb = torch.from_numpy(np.load(folder / "embeddings.npy"))
    df = pd.read_csv(folder / "dataset.csv")
    dataset = ImageQueryGalleryLabeledDataset(df, dataset_root=folder)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    metrics = EmbeddingMetrics(
        dataset,
        cmc_top_k=(1, 5, 10),
        precision_top_k=(1, 5, 10),
        map_top_k=(1, 5, 10),
        fmr_vals=fmr,
        pcf_variance=(0.5,),
        verbose=False,
    )
    metrics.setup(len(df))
    metrics.update(emb, list(range(len(df))))
    result = metrics.compute_metrics()
    seconds = time.perf_counter() - start
    flat = {
        f"{group}/{name}/{k}": float(v)
        for group, values in result.items()
        for name, per_k in values.items()
        for k, v in per_k.items()
    }
    return {
        "seconds": seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_mib_before_metrics": rss_before,
        "torch_threads": torch.get_num_threads(),
        "metrics": flat,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--fmr", type=str, default="")
    parser.add_argument("--child", type=str, default="")
    args = parser.parse_args()
    fmr = tuple(float(x) for x in args.fmr.split(",") if x)
    if args.child:
        print(json.dumps(run_oml(Path(args.child), fmr)))
        return

    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/oml-rs/target"))
    ours_bin = target / "release" / "metrics_peak"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_inputs(folder, args.n, args.dim)
        child = [sys.executable, __file__, "--n", str(args.n), "--child", tmp]
        if fmr:
            child += ["--fmr", args.fmr]
        oml = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
        cmd = [str(ours_bin), "--embeddings", str(folder / "embeddings.npy"), "--dataset", str(folder / "dataset.csv")]
        if fmr:
            cmd += ["--fmr", args.fmr]
        ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    worst = 0.0
    for key, value in oml["metrics"].items():
        group, name, k = key.split("/")
        mine = ours["metrics"][group][name][k if name != "fnmr@fmr" and name != "pcf" else str(float(k))]
        worst = max(worst, abs(mine - value))
    print(f"N = {args.n}, D = {args.dim}, fmr = {fmr or 'off'}; torch threads {oml['torch_threads']}")
    print(f"  OML 4.0.0 EmbeddingMetrics: {oml['seconds']:.3f} s, peak RSS {oml['peak_rss_mib']:.0f} MiB "
          f"({oml['peak_rss_mib'] - oml['peak_rss_mib_before_metrics']:.0f} MiB above the loaded inputs)")
    print(f"  oml-core evaluate:          {ours['seconds']:.3f} s, peak RSS {ours['peak_rss_mib']:.0f} MiB "
          f"({ours['peak_rss_mib'] - ours['peak_rss_mib_before_metrics']:.0f} MiB above the loaded inputs)")
    print(f"  speed-up {oml['seconds'] / ours['seconds']:.1f}x; largest metric difference {worst:.2e}")


if __name__ == "__main__":
    main()
