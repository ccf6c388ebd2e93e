#!/usr/bin/env bash
# Builds the npm package of the wasm crate (wasm/) into dist/oml-wasm: an ES module with
# TypeScript types and package.json, for `npm install path/to/dist/oml-wasm`.
#   scripts/build-wasm-pkg.sh            # with the WebGPU backend (and the CPU fallback)
#   scripts/build-wasm-pkg.sh --cpu-only # smaller, CPU only
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

features=(--features webgpu)
if [ "${1:-}" = "--cpu-only" ]; then features=(); fi
out="${OML_WASM_PKG_DIR:-dist/oml-wasm}"

tools=$(scripts/setup-web.sh)
cargo build --locked -p oml-wasm --target wasm32-unknown-unknown --profile wasm-release "${features[@]}"
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/oml_wasm.wasm"

rm -rf "$out.tmp"
mkdir -p "$out.tmp"
"$tools/bin/wasm-bindgen" --target web --out-dir "$out.tmp" --out-name oml_wasm "$wasm"
version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
backends='"webgpu", "cpu"'
if [ ${#features[@]} -eq 0 ]; then backends='"cpu"'; fi
cat > "$out.tmp/package.json" <<JSON
{
  "name": "oml-wasm",
  "version": "$version",
  "description": "Image embeddings and exact search in the browser: Open Metric Learning models on WebGPU or CPU (wasm).",
  "license": "Apache-2.0",
  "type": "module",
  "main": "oml_wasm.js",
  "module": "oml_wasm.js",
  "types": "oml_wasm.d.ts",
  "exports": {
    ".": { "types": "./oml_wasm.d.ts", "default": "./oml_wasm.js" },
    "./oml_wasm_bg.wasm": "./oml_wasm_bg.wasm"
  },
  "files": ["oml_wasm.js", "oml_wasm.d.ts", "oml_wasm_bg.wasm", "oml_wasm_bg.wasm.d.ts", "README.md"],
  "sideEffects": false,
  "omlBackends": [$backends]
}
JSON
cp wasm/PACKAGE.md "$out.tmp/README.md"
rm -rf "$out"
mv "$out.tmp" "$out"
raw=$(stat -c %s "$out/oml_wasm_bg.wasm")
gz=$(gzip -9 -c "$out/oml_wasm_bg.wasm" | wc -c)
echo "built $out: oml_wasm_bg.wasm $raw bytes ($gz gzip), backends: $backends"
