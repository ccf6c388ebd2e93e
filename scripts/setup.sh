#!/usr/bin/env bash
# Installs what building and testing need and a fresh machine may lack. Idempotent and quick
# when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mold >/dev/null 2>&1 || need_apt+=(mold)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
# Mesa's software Vulkan driver (lavapipe): the wgpu backend's tests run on it without a GPU.
ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || need_apt+=(mesa-vulkan-drivers)
# Open MPI (mpirun and the library) and libclang (the `mpi` crate's bindings): the tests of
# `oml-train` under mpirun (feature `mpi`).
command -v mpirun >/dev/null 2>&1 || need_apt+=(openmpi-bin)
command -v mpicc >/dev/null 2>&1 || need_apt+=(libopenmpi-dev)
ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 || need_apt+=(libclang-dev)
if ((${#need_apt[@]})); then
    echo "setup: installing ${need_apt[*]} (Debian packages)"
    if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
    if ! { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null; }; then
        echo "setup: could not install ${need_apt[*]} with apt-get (mold: .cargo/config.toml links with it; mesa-vulkan-drivers: the wgpu tests run on it; Open MPI and libclang: the mpi feature's tests)" >&2
        exit 1
    fi
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "setup: adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^$component"; then
        rustup component add "$component"
    fi
done
