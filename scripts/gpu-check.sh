#!/usr/bin/env bash
# Where a CUDA device is visible: the speed benchmark and one short training run on it, recorded under
# benchmarks/ with the device's name. Without one: says so and exits 0.
#   bash scripts/gpu-check.sh [bench options]    (make gpu-check), e.g. --models resnet20 or --no-compile
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=${SELECTIVITY_DATA:-../shared/data/cifar10-jpg}
device=$("$PY" -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")')
if [ -z "$device" ]; then
    echo "gpu-check: no CUDA device visible on this machine; nothing to measure"
    exit 0
fi
slug=$(echo "$device" | tr '[:upper:]' '[:lower:]' | tr -cs 'a-z0-9' '-' | sed 's/-$//')
out=benchmarks/gpu-$slug
echo "gpu-check: $device -> $out.txt"
{
    echo "# $device, $(date -u +%Y-%m-%d), $(git describe --always --dirty 2>/dev/null || echo unknown)"
    "$PY" -m selectivity_lib bench --device cuda --data-dir "$DATA" --json "$out.json" "$@"
    echo
    echo "# one short run: ResNet20, alpha = -1, profile full, 2 epochs"
    rm -rf "/tmp/gpu-check-run"
    "$PY" -m selectivity_lib train --device cuda --profile full --epochs 2 --alpha -1 --data-dir "$DATA" \
        --no-progress --out /tmp/gpu-check-run
    "$PY" -c 'import json; m = json.load(open("/tmp/gpu-check-run/metrics.json")); print({k: m[k] for k in ("train_seconds", "train_images_per_s", "test_acc")})'
} 2>&1 | tee "$out.txt"
