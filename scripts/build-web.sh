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
# A Content-Security-Policy that allows what the app needs and nothing else: its own scripts,
# trunk's inline loader (by hash), compiling its wasm, fetching the model file from its own
# origin, and images from dropped files (blob:). Injected after the build because the
# loader's hash is known only then.
python3 - web/dist/index.html <<'PY'
import base64, hashlib, re, sys
path = sys.argv[1]
html = open(path, encoding="utf-8").read()
html = re.sub(r'\s*<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
hashes = [
    "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
    for body in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)
]
policy = "; ".join([
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval' " + " ".join(hashes),
    "worker-src 'self'",
    "connect-src 'self'",
    "img-src 'self' blob: data:",
    "style-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
])
meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
html = html.replace('<meta charset="utf-8">', '<meta charset="utf-8">\n  ' + meta, 1)
assert meta in html, "no <meta charset> to put the policy after"
open(path, "w", encoding="utf-8").write(html)
PY

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
raw=$(stat -c %s web/dist/oml-browser-app_bg.wasm)
gz=$(gzip -9 -c web/dist/oml-browser-app_bg.wasm | wc -c)
echo "built web/dist: oml-browser-app_bg.wasm $raw bytes ($gz gzip); serve it with: python3 -m http.server --directory web/dist 8080"
