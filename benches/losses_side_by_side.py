"""PyTorch/OML 4.0.0 timings of the loss benches (benches/benches/losses.rs) on the same shapes.

Run by hand (not by CI) with OML in a venv outside the repository, threads as torch chooses
(2 here):

    ~/.cache/oml-venv/bin/python benches/losses_side_by_side.py

Prints the median of 20 timed runs (after 3 warm-up runs) of forward + backward, reading the
gradient back, as the Rust bench does.
"""

import torch
from oml.losses.arcface import ArcFaceLoss
from oml.losses.triplet import TripletLossWithMiner
from oml.miners.inbatch_hard_tri import HardTripletsMiner

from bench_timing import timed


torch.manual_seed(0)
labels = torch.arange(576) // 6
features = torch.randn(576, 384)
triplet = TripletLossWithMiner(margin=0.1, miner=HardTripletsMiner())


def triplet_step():
    x = features.clone().requires_grad_(True)
    triplet(x, labels).backward()
    return x.grad.numpy()


arc_labels = (torch.arange(256) * 37) % 10_000
arc_features = torch.randn(256, 512)
arcface = ArcFaceLoss(in_features=512, num_classes=10_000)


def arcface_step():
    x = arc_features.clone().requires_grad_(True)
    arcface(x, arc_labels).backward()
    arcface.weight.grad = None
    return x.grad.numpy()


print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
print(f"hard_triplet_576x384_fwd_bwd: {timed(triplet_step) * 1e3:.2f} ms")
print(f"arcface_256x512_10k_classes_fwd_bwd: {timed(arcface_step) * 1e3:.2f} ms")
