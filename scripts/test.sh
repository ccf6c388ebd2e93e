#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy (warnings are errors), all tests, and the
# wasm32 build of the wasm-clean crates.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
scripts/fetch-weights.sh

step() { printf '\n== %s\n' "$*"; }
started=$SECONDS

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "retrieval tests without the parallel feature (the wasm code path)"
cargo test --locked -p oml-core --test retrieval_exact

step "wasm32 check of crates/"
cargo check --locked --target wasm32-unknown-unknown -p oml-core -p oml-models -p oml-data --no-default-features

step "export formats read back by numpy, safetensors and pyarrow"
scripts/check-exports.sh

step "the wasm package (dist/oml-wasm) in Node.js against the native tools"
scripts/test-wasm-pkg.sh

step "the browser app (web/dist) in headless Chromium against the native tools"
scripts/test-web.sh

printf '\nall checks passed in %ss\n' "$((SECONDS - started))"
