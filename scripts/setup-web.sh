#!/usr/bin/env bash
# Installs what the wasm package and the browser app need: the wasm32 target, a
# wasm-bindgen CLI whose version equals the lockfile's wasm-bindgen (they must match
# exactly) and trunk, from crates.io into ~/.cache/oml-rs/tools. Idempotent. Prints the
# tools folder. (No wasm-opt: Debian's binaryen 108 breaks burn's wasm; see DESIGN-NOTES.md.)
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
# trunk 0.21.14: 0.22 needs a newer rustc. Built in its own target folder so it never waits
# for (or invalidates) the project's.
if ! "$tools/bin/trunk" --version 2>/dev/null | grep -q "0.21.14"; then
    echo "setup-web: installing trunk 0.21.14 (crates.io; several minutes)" >&2
    CARGO_TARGET_DIR="$tools/target" cargo install trunk --version 0.21.14 --locked --root "$tools" --quiet >&2
    rm -rf "$tools/target"
fi
echo "$tools"
