#!/usr/bin/env bash
# Fetches the real data sets of shared DATA.md from package registries into the cache and
# converts them to the dataset CSV format:
#   emoji  npm emoji-datasource-google@16.0.0 + emoji-datasource-twitter@16.0.0 (Apache-2.0 /
#          CC-BY-4.0 images): 1,911 emoji, 20% held out (queries Google, gallery Twitter)
#          -> $cache/data/emoji/dataset.csv
#   fashion-mnist  Debian dataset-fashion-mnist (MIT): 70,000 28x28 images, 10 classes; two
#          classes held out (seeded) -> $cache/data/fashion-mnist/dataset.csv
# Train on it with:
#   oml-train --config configs/emoji_mobilenet_v2.toml --set dataset_root=$cache/data/emoji
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cache="${OML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oml-rs}"
npm_dir="$cache/npm"
mkdir -p "$npm_dir"
for pkg in emoji-datasource-google@16.0.0 emoji-datasource-twitter@16.0.0; do
    name="${pkg%@*}"
    if [ ! -f "$npm_dir/$name/package/emoji.json" ]; then
        echo "fetch-data: npm pack $pkg"
        tarball=$(cd "$npm_dir" && npm pack --silent "$pkg")
        mkdir -p "$npm_dir/$name"
        tar xzf "$npm_dir/$tarball" -C "$npm_dir/$name"
        rm "$npm_dir/$tarball"
    fi
done
# (Converted again when the CSV predates its `domain` column.)
if ! head -n 1 "$cache/data/emoji/dataset.csv" 2>/dev/null | grep -q ",domain"; then
    cargo run --locked --quiet -p oml-native --bin oml -- convert emoji \
        --google "$npm_dir/emoji-datasource-google/package" \
        --twitter "$npm_dir/emoji-datasource-twitter/package" \
        --out "$cache/data/emoji"
fi
echo "fetch-data: emoji -> $cache/data/emoji/dataset.csv"

fm=/usr/share/datasets/fashion-mnist
if [ ! -f "$fm/train-images-idx3-ubyte.gz" ]; then
    echo "fetch-data: installing dataset-fashion-mnist (Debian)"
    if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi
if [ ! -f "$cache/data/fashion-mnist/dataset.csv" ]; then
    cargo run --locked --quiet -p oml-native --bin oml -- convert fashion-mnist \
        --dir "$fm" --out "$cache/data/fashion-mnist" --class-disjoint 2
fi
echo "fetch-data: fashion-mnist -> $cache/data/fashion-mnist/dataset.csv"
