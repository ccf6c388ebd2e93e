#!/usr/bin/env bash
# The export formats against their reference readers: `oml embed` writes .npy, .safetensors,
# .jsonl and .parquet of committed images and `oml export` a model file; Python's numpy,
# safetensors and pyarrow (pinned in tests/python/requirements.txt, in a venv under the
# cache) read them back and tests/python/check_exports.py checks every value.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

venv="${XDG_CACHE_HOME:-$HOME/.cache}/oml-rs/pyenv"
stamp="$venv/requirements.txt"
if ! cmp -s tests/python/requirements.txt "$stamp" 2>/dev/null; then
    echo "check-exports: creating $venv (numpy, safetensors, pyarrow from PyPI)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
    cp tests/python/requirements.txt "$stamp"
fi

cargo build --locked -q -p oml-native --bin oml
oml="$CARGO_TARGET_DIR/debug/oml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=data/emoji_small
head -11 "$root/dataset.csv" > "$work/dataset.csv"
# One row without a category, to check missing values come out as null.
sed -i '4s/,[^,]*$/,/' "$work/dataset.csv"
"$oml" export --model mobilenet_v2_imagenet --offline --out "$work/model.safetensors" 2>/dev/null
for ext in npy safetensors jsonl parquet; do
    "$oml" embed --model "$work/model.safetensors" --dataset "$work/dataset.csv" \
        --dataset-root "$root" --out "$work/e.$ext" 2>/dev/null
done
"$venv/bin/python" tests/python/check_exports.py "$work"
