# Sourced by the other scripts: one persistent target directory outside the clone, shared by
# developers and CI, so that rebuilding after a fresh clone only recompiles our own crates.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/oml-rs/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
