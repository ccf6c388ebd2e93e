#!/usr/bin/env bash
# Installs what the wasm package and the browser app need: the wasm32 target and a
# wasm-bindgen CLI whose version equals the lockfile's wasm-bindgen (they must match
# exactly), into ~/.cache/oml-rs/tools. Idempotent. Prints the tools folder.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

tools="${OML_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/oml-rs/tools}"
mkdir -p "$tools"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown >&2
fi
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
have=$("$tools/bin/wasm-bindgen" --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
    echo "setup-web: installing wasm-bindgen-cli $want (crates.io; a few minutes)" >&2
    # Without --locked: its own lockfile pins a crate version the registry may lack.
    cargo install wasm-bindgen-cli --version "$want" --root "$tools" --quiet >&2
fi
echo "$tools"
