#!/usr/bin/env bash
# x2 and x8 of photos (docs/real-photos.md): with no photo model of that scale, is drn-s-x4-real
# resized (what `drn upscale --scale 2|8` runs) better than the bicubic-trained drn-s-x2/x8?
# Scores realistic LR (`--degradation real`, seeded per image) and clean bicubic LR, by `drn eval`.
#   experiments/photo_scales.sh [SETS] [SCALES] [BENCHMARK_DIR]   (default "Set14" "2 8" ../shared/data/benchmarks)
set -euo pipefail
sets=${1:-Set14}
scales=${2:-2 8}
bench=${3:-../shared/data/benchmarks}
score() {  # score SET SCALE DEGRADATION ARGS... -> "psnr / ssim"
  local set=$1 scale=$2 deg=$3; shift 3
  drn eval --dataset "$set" --data-dir "$bench" --degradation "$deg" "$@" --json 2>/dev/null |
    python3 -c "import json,sys; r=json.load(sys.stdin); print(f'{r[\"psnr\"]:.2f} / {r[\"ssim\"]:.4f}')"
}
for set in $sets; do
  for scale in $scales; do
    echo
    echo "| $set x$scale, Y-PSNR / SSIM | realistic LR | bicubic LR |"
    echo "|---|---|---|"
    for row in "bicubic|--model bicubic --scale $scale" "drn-s-x$scale|--model drn-s-x$scale" \
               "drn-s-x4-real resized|--model drn-s-x4-real --outscale $scale" \
               "drn-s-x4 resized|--model drn-s-x4 --outscale $scale"; do
      name=${row%%|*}; read -ra args <<< "${row#*|}"
      echo "| $name | $(score "$set" "$scale" real "${args[@]}") | $(score "$set" "$scale" bicubic "${args[@]}") |"
    done
  done
done
