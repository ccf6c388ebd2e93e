#!/usr/bin/env bash
# The embeddings export in a real vector database: `oml embed` writes the gallery and the
# queries as Parquet, LanceDB (embedded, from PyPI, pinned in
# tests/python/requirements-vectordb.txt, in a venv under the cache) loads them and searches,
# and tests/python/check_vector_db.py checks its top-k equals `oml index search`'s.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

venv="${XDG_CACHE_HOME:-$HOME/.cache}/oml-rs/pyenv-vectordb"
stamp="$venv/requirements.txt"
if ! cmp -s tests/python/requirements-vectordb.txt "$stamp" 2>/dev/null; then
    echo "check-vector-db: creating $venv (lancedb from PyPI)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements-vectordb.txt
    cp tests/python/requirements-vectordb.txt "$stamp"
fi

cargo build --locked -q --workspace --features oml-native/mpi --bin oml
oml="$CARGO_TARGET_DIR/debug/oml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=data/emoji_small
# Gallery: the Twitter drawings of the held-out emoji; queries: their Google drawings.
{ echo path; awk -F, '$3 == "validation" && $2 ~ /twitter/ { print $2 }' "$root/dataset.csv"; } > "$work/gallery.csv"
{ echo path; awk -F, '$3 == "validation" && $2 ~ /google/ { print $2 }' "$root/dataset.csv"; } > "$work/queries.csv"
"$oml" export --model mobilenet_v2_imagenet --offline --out "$work/model.safetensors"
for side in gallery queries; do
    # `oml embed` takes a dataset CSV; a path-only list becomes one with placeholder roles.
    { echo "label,path,split,is_query,is_gallery"; tail -n +2 "$work/$side.csv" | awk '{ print NR ",", $0 ",train,," }' | tr -d ' '; } > "$work/$side-dataset.csv"
    "$oml" embed --model "$work/model.safetensors" --dataset "$work/$side-dataset.csv" \
        --dataset-root "$root" --out "$work/$side.parquet"
done
"$oml" index build --model "$work/model.safetensors" --gallery "$work/gallery.csv" --root "$root" --out "$work/gallery.index"
"$oml" index search --model "$work/model.safetensors" --index "$work/gallery.index" \
    --queries "$work/queries.csv" --root "$root" --k 5 --out "$work/search.jsonl"
"$venv/bin/python" tests/python/check_vector_db.py "$work/gallery.parquet" "$work/queries.parquet" \
    "$work/search.jsonl" 5 "$work/lancedb"
