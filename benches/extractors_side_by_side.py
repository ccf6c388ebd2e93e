"""PyTorch CPU timings of the extractor benches (benches/benches/extractors.rs), same shapes.

Run by hand (not by CI): ~/.cache/oml-venv/bin/python benches/extractors_side_by_side.py
Median of 10 timed runs after 2 warm-up runs, eval mode, no grad.
"""

import torch
import torchvision
from bench_timing import timed

torch.manual_seed(0)
images = torch.randn(16, 3, 224, 224)
model = torchvision.models.mobilenet_v2().eval()
with torch.no_grad():
    seconds = timed(lambda: model.features(images).mean(dim=(2, 3)).numpy(), runs=10, warmup=2)
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
print(f"mobilenet_v2_224px_batch16: {seconds * 1e3:.1f} ms, {16 / seconds:.1f} images/s")
