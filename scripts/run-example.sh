#!/usr/bin/env bash
# The main job on the bundled data: retrieval metrics of the example embeddings, compared in
# data/example/README.md with what OML 4.0.0 computes on the same inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
cargo run --locked --quiet -p oml-native --bin oml -- metrics \
    --embeddings data/example/embeddings.npy \
    --dataset data/example/dataset.csv \
    "$@"
