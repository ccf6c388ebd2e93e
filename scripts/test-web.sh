#!/usr/bin/env bash
# The browser app end to end in headless Chromium: builds web/dist (scripts/build-web.sh),
# makes a labelled gallery from committed emoji (20 held-out emoji, Google drawings query
# Twitter drawings, plus a corrupt image and a text file that must be listed as skipped),
# computes the native reference (`oml embed` + `oml metrics` with the same model file), and
# runs tests/web/e2e.test.mjs. Installs Debian's chromium and playwright-core (npm) if
# missing. Screenshots: $OML_ARTIFACTS (default target/oml-artifacts).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

if [ ! -x /usr/bin/chromium ]; then
    echo "test-web: installing Debian's chromium"
    if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq chromium >/dev/null
fi
(cd tests/web && npm ci --no-audit --no-fund --silent)
[ "${OML_SKIP_WEB_BUILD:-}" = 1 ] || scripts/build-web.sh
cargo build --locked -q -p oml-native --bin oml
oml="$CARGO_TARGET_DIR/debug/oml"

artifacts="${OML_ARTIFACTS:-$CARGO_TARGET_DIR/oml-artifacts}"
mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=data/emoji_small
gallery="$work/gallery"
mkdir -p "$gallery/images/google" "$gallery/images/twitter"
{ head -1 "$root/dataset.csv"; awk -F, '$3 == "validation" && n++ < 40' "$root/dataset.csv"; } > "$gallery/dataset.csv"
tail -n +2 "$gallery/dataset.csv" | cut -d, -f2 | while read -r path; do cp "$root/$path" "$gallery/$path"; done
cp "$root"/LICENSE* "$gallery/../" 2>/dev/null || true
printf 'not a png' > "$gallery/images/broken.png"
printf 'notes' > "$gallery/notes.txt"
"$oml" embed --model web/dist/model.safetensors --dataset "$gallery/dataset.csv" --out "$work/native.npy" 2>/dev/null
"$oml" metrics --embeddings "$work/native.npy" --dataset "$gallery/dataset.csv" --json "$work/native.json" >/dev/null
# The wasm package's example page, with the package scripts/test-wasm-pkg.sh built.
example="$work/example"
if [ -f dist/oml-wasm/oml_wasm.js ]; then
    mkdir -p "$example"
    cp wasm/example/index.html wasm/example/example.js web/dist/model.safetensors "$example/"
    cp -r dist/oml-wasm "$example/oml-wasm"
else
    example=""
    echo "test-web: dist/oml-wasm not built; the package's example page is not checked" >&2
fi
node tests/web/e2e.test.mjs web/dist "$gallery" "$work/native.json" "$artifacts" "$root/images" $example
echo "test-web: screenshots in $artifacts"
