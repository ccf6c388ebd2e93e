"""PyTorch CPU timings of the extractor benches (benches/benches/extractors.rs), same shapes.

Run by hand (not by CI): ~/.cache/oml-venv/bin/python benches/extractors_side_by_side.py
Median of 10 timed runs after 2 warm-up runs, eval mode, no grad.
"""

import torch
import torchvision
from bench_timing import timed
from oml.models.vit_dino.external.hubconf import dino_vits16

torch.manual_seed(0)
images = torch.randn(16, 3, 224, 224)
mobilenet = torchvision.models.mobilenet_v2().eval()
resnet50 = torchvision.models.resnet50().eval()
resnet50.fc = torch.nn.Identity()
vits16 = dino_vits16(pretrained=False).eval()  # the DINO code OML's ViTExtractor runs
cases = {
    "mobilenet_v2_224px_batch16": lambda: mobilenet.features(images).mean(dim=(2, 3)).numpy(),
    "resnet50_224px_batch16": lambda: resnet50(images).numpy(),
    "vits16_224px_batch16": lambda: vits16(images).numpy(),
}
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
with torch.no_grad():
    for name, fn in cases.items():
        seconds = timed(fn, runs=10, warmup=2)
        print(f"{name}: {seconds * 1e3:.1f} ms, {16 / seconds:.1f} images/s")
