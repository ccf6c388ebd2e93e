#!/usr/bin/env bash
# Serves the wasm package's example page (wasm/example) on http://localhost:${PORT:-8080}
# with the package (built if missing) and the pretrained MobileNetV2 exported as a model file.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
[ -f dist/oml-wasm/oml_wasm.js ] || scripts/build-wasm-pkg.sh
site=dist/example
mkdir -p "$site"
cp wasm/example/index.html wasm/example/example.js "$site/"
rm -rf "$site/oml-wasm" && cp -r dist/oml-wasm "$site/oml-wasm"
if [ ! -f "$site/model.safetensors" ]; then
    scripts/fetch-weights.sh
    cargo run --locked -q -p oml-native --bin oml -- export --model mobilenet_v2_imagenet --offline --out "$site/model.safetensors"
fi
echo "serving $site on http://localhost:${PORT:-8080}"
exec python3 -m http.server "${PORT:-8080}" --directory "$site"
