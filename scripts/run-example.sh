#!/usr/bin/env bash
# The main job on the embedded default data: fine-tune the ImageNet MobileNetV2 on the committed
# emoji subset (data/emoji_small) with configs/emoji_mobilenet_v2.toml, printing the
# validation metrics before training and after every epoch. Minutes on 2 CPU cores.
# Extra arguments go to oml-train, e.g. `--set max_epochs=2`. The run folder is
# runs/emoji_mobilenet_v2/<time>/ (config, metrics.csv, checkpoints).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
scripts/fetch-weights.sh
cargo run --locked --quiet -p oml-native --bin oml-train -- \
    --config configs/emoji_mobilenet_v2.toml "$@"
