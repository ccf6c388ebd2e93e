#!/usr/bin/env bash
# The GPU check, in two halves, for a GPU machine that has PyTorch but no network, no Rust
# toolchain and a small upload (tens of MB):
#
#   scripts/gpu-check.sh --prepare     on an ordinary machine: release builds of oml, oml-train
#                                      and gpu_check (wgpu, plus CUDA where its LLVM can be
#                                      fetched; gpu_check is benches/examples/gpu_check.rs),
#                                      stripped and xz-compressed, with the MobileNetV2
#                                      weights and OML 4.0.0's wheel, into gpu-bundle/ (ignored
#                                      by git: carry it to the GPU machine).
#   scripts/gpu-check.sh --run         on the GPU machine, from the repository root with
#                                      gpu-bundle/ beside it: for each backend there (CUDA, wgpu)
#                                      the parity checks and the model's embedding speed
#                                      (gpu_check), oml-train on configs/emoji_benchmark.toml for
#                                      a fixed number of steps in f32 (and f16 where the build
#                                      trains in it), `oml embed` end to end, peak GPU memory,
#                                      and OML 4.0.0 + PyTorch on the same recipe and GPU. The
#                                      figures go to $OUT/gpu-check.md (or gpu-bundle/) and
#                                      stdout. Budget: under 8 minutes.
#   scripts/gpu-check.sh --dry-run     both halves here, from the dev build that the tests use
#                                      (no release build), on wgpu over lavapipe at tiny sizes,
#                                      without OML: what CI runs to keep the script working.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:---help}"
bundle="$PWD/gpu-bundle"
out_dir="${OUT:-$bundle}"

say() { printf '%s\n' "$*" | tee -a "$out_dir/gpu-check.md"; }

prepare() {
    local profile="$1"
    source scripts/env.sh
    scripts/setup.sh
    scripts/fetch-weights.sh >/dev/null
    rm -rf "$bundle" && mkdir -p "$bundle"
    local features="" target="$CARGO_TARGET_DIR/release"
    if [ "$profile" = dev ]; then
        # The binaries the test build made (cargo test builds examples too): no new build.
        # scripts/test.sh builds the tests with MPI where Open MPI is installed; the same
        # features here, or everything would be built again.
        target="$CARGO_TARGET_DIR/debug"
        local test_features=()
        command -v mpicc >/dev/null 2>&1 && test_features=(--features oml-native/mpi)
        cargo test --locked --workspace "${test_features[@]}" --no-run \
            >"$CARGO_TARGET_DIR/gpu-check-build.log" 2>&1 || {
            tail -30 "$CARGO_TARGET_DIR/gpu-check-build.log" >&2
            exit 1
        }
    else
        # CUDA needs burn's LLVM bundle, which its build script downloads from GitHub; where
        # that fails, the bundle is wgpu-only (wgpu reaches NVIDIA GPUs through Vulkan).
        if cargo build --locked --release -p oml-native -p oml-benches --features \
            oml-native/cuda --bins --example gpu_check >"$bundle/cuda-build.log" 2>&1; then
            features="cuda"
            echo "gpu-check: built with CUDA and wgpu"
        else
            echo "gpu-check: building without CUDA (gpu-bundle/cuda-build.log says why)"
            cargo build --locked --release -p oml-native -p oml-benches --bins --example gpu_check
        fi
    fi
    for bin in oml oml-train examples/gpu_check; do
        local name="${bin#examples/}"
        cp "$target/$bin" "$bundle/$name"
        strip "$bundle/$name"
        xz -T0 -6 -f "$bundle/$name"
    done
    cp "${OML_CACHE:-$HOME/.cache/oml-rs}/weights/mobilenet_v2_imagenet.pt" "$bundle/"
    if [ "$profile" = release ]; then
        python3 -m pip download --no-deps -q -d "$bundle/wheels" open-metric-learning==4.0.0 \
            validators gdown ||
            echo "gpu-check: OML's wheel could not be fetched; the side-by-side will be skipped"
    fi
    echo "${features:-wgpu}" >"$bundle/features"
    du -sh "$bundle"
}

# images/s of the last "epoch N/M: loss …, K batches, X images/s" line of oml-train's output.
train_rate() { grep -o 'batches, [0-9.]* images/s' "$1" | tail -1 | grep -o '[0-9.]* images'; }

run() {
    # copies of the training rows, epochs, rows to embed, batch size, batches timed, training
    # image size, whether to run OML
    local copies="$1" epochs="$2" embed_rows="$3" batch="$4" batches="$5" size="$6" with_oml="$7"
    [ -d "$bundle" ] || { echo "gpu-check: no gpu-bundle/: run --prepare first" >&2; exit 2; }
    mkdir -p "$out_dir"
    : >"$out_dir/gpu-check.md"
    local bin="$bundle/bin" work
    work=$(mktemp -d)
    mkdir -p "$bin"
    for b in oml oml-train gpu_check; do
        xz -dc "$bundle/$b.xz" >"$bin/$b" && chmod +x "$bin/$b"
    done
    export OML_CACHE="$work/cache"
    mkdir -p "$OML_CACHE/weights"
    cp "$bundle/mobilenet_v2_imagenet.pt" "$OML_CACHE/weights/"
    # NVRTC from PyTorch's pip packages, where the system has no CUDA toolkit.
    local nvrtc
    nvrtc=$(python3 - 2>/dev/null <<'EOF' || true
import glob, os, site
dirs = site.getsitepackages()
hits = [p for d in dirs for p in glob.glob(os.path.join(d, "nvidia", "*", "lib", "libnvrtc.so*"))]
print(os.path.dirname(hits[0]) if hits else "")
EOF
    )
    [ -n "$nvrtc" ] && export LD_LIBRARY_PATH="$nvrtc:${LD_LIBRARY_PATH:-}"

    local gpu_name="no NVIDIA GPU"
    if command -v nvidia-smi >/dev/null 2>&1; then
        gpu_name=$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | sed -n 1p)
    fi
    say "# GPU check, $(date -u +%Y-%m-%d), $gpu_name, backends built: $(cat "$bundle/features")"
    say ""

    # A training set big enough for steady steps: the committed emoji subset's training rows
    # repeated as new identities (speed only; the metrics of these runs mean nothing).
    python3 - "$work/data" "$copies" <<'EOF'
import csv, os, sys
root = os.path.abspath("data/emoji_small")
out, copies = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
rows = list(csv.DictReader(open(os.path.join(root, "dataset.csv"))))
with open(os.path.join(out, "dataset.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    w.writeheader()
    for k in range(copies):
        for r in rows:
            if r["split"] != "train" and k > 0:
                continue
            r = dict(r, label=str(int(r["label"]) + 100000 * k), path=os.path.join(root, r["path"]))
            w.writerow(r)
EOF

    local devices=()
    grep -q cuda "$bundle/features" && devices+=(cuda)
    devices+=(wgpu)
    for device in "${devices[@]}"; do
        say "## $device"
        say ""
        local mem="$work/mem-$device.log" sampler=""
        if command -v nvidia-smi >/dev/null 2>&1; then
            nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$mem" &
            sampler=$!
        fi
        if ! "$bin/gpu_check" --device "$device" --batch "$batch" --batches "$batches" \
            >"$work/check-$device.txt" 2>&1; then
            say "gpu_check on $device failed:"
        fi
        say "$(grep -v '^RESULT' "$work/check-$device.txt")"
        say ""
        for precision in 32 16; do
            local log="$work/train-$device-$precision.txt"
            if "$bin/oml-train" --config configs/emoji_benchmark.toml \
                --set "dataset_root=$work/data" --set "device=$device" \
                --set "precision=$precision" --set "max_epochs=$epochs" \
                --set extractor.members=1 --set valid_before_training=false \
                --set "transforms_train.size=$size" --set "transforms_val.size=$size" \
                --set "run_dir=$work/run-$device-$precision" >"$log" 2>&1; then
                say "- oml-train, emoji_benchmark recipe, f$precision: $(train_rate "$log")/s in the last epoch ($(grep -c '' "$work/data/dataset.csv") rows)"
            else
                say "- oml-train f$precision on $device failed: $(grep -m1 -i error "$log" || tail -1 "$log")"
            fi
        done
        # Two GPUs in one process (`devices = 2`, burn's step_multi), where there are two.
        local gpus=0
        command -v nvidia-smi >/dev/null 2>&1 && gpus=$(nvidia-smi -L | grep -c '^GPU' || true)
        if [ "$gpus" -ge 2 ]; then
            local log="$work/train-$device-two.txt"
            if "$bin/oml-train" --config configs/emoji_benchmark.toml \
                --set "dataset_root=$work/data" --set "device=$device" --set devices=2 \
                --set "max_epochs=$epochs" \
                --set extractor.members=1 --set valid_before_training=false \
                --set "transforms_train.size=$size" --set "transforms_val.size=$size" \
                --set "run_dir=$work/run-$device-two" >"$log" 2>&1; then
                say "- oml-train on 2 GPUs (devices = 2), f32: $(train_rate "$log")/s in the last epoch"
            else
                say "- oml-train devices = 2 on $device failed: $(grep -m1 -i error "$log" || tail -1 "$log")"
            fi
        fi
        # No `| head` under pipefail: the writer would die of SIGPIPE on a large file.
        sed -n "1,$((embed_rows + 1))p" "$work/data/dataset.csv" >"$work/embed.csv"
        local started ended rows
        rows=$(($(wc -l <"$work/embed.csv") - 1))
        started=$(date +%s.%N)
        if "$bin/oml" embed --model mobilenet_v2_imagenet --offline --dataset "$work/embed.csv" \
            --out "$work/e.npy" --batch-size "$batch" --device "$device" \
            >"$work/embed-$device.txt" 2>&1; then
            ended=$(date +%s.%N)
            say "- oml embed, MobileNetV2 224 px, batch $batch, $rows images end to end: $(python3 -c "print(f'{$rows / ($ended - $started):.0f}')") images/s"
        else
            say "- oml embed on $device failed: $(tail -1 "$work/embed-$device.txt")"
        fi
        if [ -n "$sampler" ]; then
            kill "$sampler" 2>/dev/null || true
            say "- peak GPU memory over these runs: $(sort -n "$mem" | tail -1) MiB"
        fi
        say ""
    done

    if [ "$with_oml" = yes ] && [ -d "$bundle/wheels" ] &&
        python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
        python3 -m pip install --no-index --no-deps -q --target "$work/py" "$bundle"/wheels/*.whl
        if PYTHONPATH="$work/py" python3 benches/train_side_by_side.py "$work/data" \
            --device cuda --epochs "$epochs" --size "$size" --category-batches --freeze-depthwise \
            --hflip 0.5 --hue 0.05 --crop-scale 0.6 --lr 3e-4 --no-eval \
            >"$work/oml.txt" 2>&1; then
            say "- OML 4.0.0 + PyTorch, same recipe, CUDA: $(grep -o '[0-9.]* images/s' "$work/oml.txt" | tail -1) in the last epoch"
        else
            say "- OML 4.0.0 + PyTorch could not run: $(tail -1 "$work/oml.txt")"
        fi
    else
        say "- OML 4.0.0 + PyTorch side by side: not run (no CUDA PyTorch, or no wheel, or a dry run)"
    fi
    if command -v chromium >/dev/null 2>&1 && [ "$with_oml" = yes ]; then
        say "- browser app on WebGPU: run scripts/test-web.sh with OML_WEB_BACKEND=webgpu here"
    else
        say "- browser app on WebGPU: not measured (no Chromium on this machine, or a dry run)"
    fi
    rm -rf "$work" "$bin"
    echo "gpu-check: figures in $out_dir/gpu-check.md"
}

case "$mode" in
    --prepare) prepare release ;;
    --run) run 8 2 2048 256 20 160 yes ;;
    --dry-run)
        prepare dev
        run 1 1 2 2 1 32 no
        ;;
    *)
        sed -n '2,22p' "$0"
        exit 2
        ;;
esac
