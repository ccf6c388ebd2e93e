#!/usr/bin/env bash
# The wasm package end to end in Node.js: builds dist/oml-wasm (unless OML_WASM_PKG_DIR
# points at a built one), exports the pretrained MobileNetV2 to a model file with the native
# `oml`, embeds and searches committed emoji with both, builds an index file with
# `oml index build`, and runs wasm/tests/package.test.mjs to compare (the package loads the
# native index and searches it as `oml search` does). Prints the package's embeddings/s and size.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

pkg="${OML_WASM_PKG_DIR:-dist/oml-wasm}"
if [ -z "${OML_WASM_PKG_DIR:-}" ]; then scripts/build-wasm-pkg.sh; fi
cargo build --locked -q -p oml-native --bin oml
oml="$CARGO_TARGET_DIR/debug/oml"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=data/emoji_small
# 8 held-out emoji: Google drawings query, Twitter drawings are the gallery.
{ head -1 "$root/dataset.csv"; awk -F, '$3 == "validation" && n++ < 16' "$root/dataset.csv"; } > "$work/gallery.csv"
"$oml" export --model mobilenet_v2_imagenet --offline --out "$work/model.safetensors"
"$oml" embed --model "$work/model.safetensors" --dataset "$work/gallery.csv" --dataset-root "$root" --out "$work/native.npy"
queries=$(awk -F, 'NR > 1 && tolower($4) == "true" { print "'"$root"'/" $2 }' "$work/gallery.csv")
# shellcheck disable=SC2086
"$oml" search --checkpoint "$work/model.safetensors" --gallery "$work/gallery.csv" --dataset-root "$root" --k 3 --query $queries > "$work/search.txt"
sed -i "s|^$root/||" "$work/search.txt"
{ echo path; awk -F, 'NR > 1 && tolower($5) == "true" { print $2 }' "$work/gallery.csv"; } > "$work/gallery-list.csv"
"$oml" index build --model "$work/model.safetensors" --gallery "$work/gallery-list.csv" --root "$root" --out "$work/gallery.index"
node wasm/tests/package.test.mjs "$pkg" "$work/model.safetensors" "$work/gallery.csv" "$root" "$work/native.npy" "$work/search.txt" 3 "$work/gallery.index"
