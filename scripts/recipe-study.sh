#!/usr/bin/env bash
# The recipe study behind the `full` profile: ResNet20, alpha = 0, seed 0, the full 45k split, one run per
# schedule into runs/recipe/<name>/. Every run is resumable: rerun the script after a kill. Its log goes to
# runs/recipe/<name>.log (not in git).
#   bash scripts/recipe-study.sh [name ...]    (default: all, in the order below)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=${SELECTIVITY_DATA:-../shared/data/cifar10-jpg}

declare -A RECIPE=(
    [linear-e22]="--epochs 22 --schedule linear --warmup-epochs 1 --lr 0.1"
    [linear-e22-lr0.2-nesterov]="--epochs 22 --schedule linear --warmup-epochs 1 --lr 0.2 --nesterov"
    [step-e22]="--epochs 22 --schedule step --warmup-epochs 0 --lr 0.1"
    [cosine-e22-nesterov]="--epochs 22 --schedule cosine --warmup-epochs 1 --lr 0.1 --nesterov"
)
ORDER=(linear-e22 linear-e22-lr0.2-nesterov step-e22 cosine-e22-nesterov)

for name in "${@:-${ORDER[@]}}"; do
    args=${RECIPE[$name]:?unknown recipe $name: choose from ${ORDER[*]}}
    out=runs/recipe/$name
    mkdir -p runs/recipe
    # shellcheck disable=SC2086
    "$PY" -m selectivity_lib train --profile full --model resnet20 --alpha 0 --seed 0 $args \
        --data-dir "$DATA" --no-progress --out "$out" 2>&1 | tee -a "$out.log"
done
