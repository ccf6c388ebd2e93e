# Sourced by the other scripts: one persistent target directory outside the clone, shared by
# developers and CI, so that rebuilding after a fresh clone only recompiles our own crates.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/oml-rs/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# The Vulkan loader (wgpu on lavapipe in the tests) warns on every start without a runtime dir.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/oml-rs-runtime-$(id -u)"
    mkdir -p -m 700 "$XDG_RUNTIME_DIR"
fi
