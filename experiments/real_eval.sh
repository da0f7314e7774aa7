#!/usr/bin/env bash
# The realistic-degradation table (docs/real-photos.md): bicubic, drn-s-x4 and drn-s-x4-real on
# Set14 and B100 with `--degradation real` (seeded per image name), and on clean bicubic Set5.
#   experiments/real_eval.sh [BENCHMARK_DIR]      (default ../shared/data/benchmarks)
set -euo pipefail
bench=${1:-../shared/data/benchmarks}
row() {  # row MODEL -> one markdown row
  local cells=""
  for spec in "Set14 real" "B100 real" "Set5 bicubic"; do
    read -r set deg <<< "$spec"
    local extra=(--model "$1"); [ "$1" = bicubic ] && extra+=(--scale 4)
    local json; json=$(drn eval --dataset "$set" --data-dir "$bench" --degradation "$deg" "${extra[@]}" --json 2>/dev/null)
    cells+=$(python3 -c "import json,sys; r=json.loads(sys.argv[1]); print(f' {r[\"psnr\"]:.2f} / {r[\"ssim\"]:.4f} |', end='')" "$json")
  done
  echo "| $1 |$cells"
}
echo "| x4, Y-PSNR / SSIM | Set14, real LR | B100, real LR | Set5, bicubic LR |"
echo "|---|---|---|---|"
for model in bicubic drn-s-x4 drn-s-x4-real; do row "$model"; done
