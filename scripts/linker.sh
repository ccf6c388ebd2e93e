#!/bin/sh
# Linker driver for cargo (see .cargo/config.toml): cc with mold when available.
if command -v mold >/dev/null 2>&1; then
    exec cc -fuse-ld=mold "$@"
fi
exec cc "$@"
