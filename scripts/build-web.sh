#!/usr/bin/env bash
# Builds the browser app into web/dist with trunk (offline, tools from scripts/setup-web.sh),
# and puts the default model next to it: the pretrained MobileNetV2 exported as a model file
# (or OML_WEB_MODEL, any model file from `oml export`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

tools=$(scripts/setup-web.sh)
export PATH="$tools/bin:$PATH"
(cd web && trunk build --release --locked)

model="${OML_WEB_MODEL:-}"
if [ -z "$model" ]; then
    model="${XDG_CACHE_HOME:-$HOME/.cache}/oml-rs/models/mobilenet_v2_imagenet.safetensors"
    if [ ! -f "$model" ]; then
        scripts/fetch-weights.sh
        mkdir -p "$(dirname "$model")"
        cargo run --locked -q -p oml-native --bin oml -- export --model mobilenet_v2_imagenet --offline --out "$model"
    fi
fi
cp "$model" web/dist/model.safetensors
raw=$(stat -c %s web/dist/oml-web_bg.wasm)
gz=$(gzip -9 -c web/dist/oml-web_bg.wasm | wc -c)
echo "built web/dist: oml-web_bg.wasm $raw bytes ($gz gzip); serve it with: python3 -m http.server --directory web/dist 8080"
