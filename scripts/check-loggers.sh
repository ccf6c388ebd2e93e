#!/usr/bin/env bash
# oml-train's experiment loggers against their own readers: a tiny run logs to TensorBoard
# event files and to an MLflow tracking server started here on localhost; TensorBoard's
# EventAccumulator and MLflow's REST API read back what it logged (tests/python/check_loggers.py).
# Both come from PyPI (pinned in tests/python/requirements-loggers.txt) into a venv under the
# cache.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

venv="${XDG_CACHE_HOME:-$HOME/.cache}/oml-rs/pyenv-loggers"
stamp="$venv/requirements.txt"
if ! cmp -s tests/python/requirements-loggers.txt "$stamp" 2>/dev/null; then
    echo "check-loggers: creating $venv (tensorboard, mlflow from PyPI)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements-loggers.txt
    cp tests/python/requirements-loggers.txt "$stamp"
fi

# The build the tests made (same features: nothing to rebuild after `cargo test`).
cargo build --locked -q --workspace --features oml-native/mpi --bin oml-train
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/mlflow" server --host 127.0.0.1 --port "$port" --workers 1 \
    --backend-store-uri "sqlite:///$work/mlflow.db" --artifacts-destination "$work/artifacts" \
    > "$work/mlflow.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
uri="http://127.0.0.1:$port"
healthy() { python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$uri/health" 2>/dev/null; }
for _ in $(seq 120); do
    healthy && break
    sleep 1
done
healthy || { cat "$work/mlflow.log"; exit 1; }

"$CARGO_TARGET_DIR/debug/oml-train" --config configs/emoji_mobilenet_v2.toml \
    --set run_dir="$work/run" --set max_epochs=2 --set transforms_train.size=32 \
    --set transforms_val.size=32 --set sampler.n_labels=16 --set seed=3 \
    --set "logger={tensorboard=\"tb\", mlflow={tracking_uri=\"$uri\", experiment=\"ci\"}}" \
    > "$work/train.out" 2> "$work/train.log" || { cat "$work/train.log"; exit 1; }
if grep -q "^warning: .*logging there stops" "$work/train.log"; then
    cat "$work/train.log"
    exit 1
fi
"$venv/bin/python" tests/python/check_loggers.py "$work/run" "$work/run/tb" "$uri" ci
