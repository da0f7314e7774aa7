#!/usr/bin/env bash
# The paper's adaptation experiment (docs/adaptation.md): LR made with a degradation the model
# never saw, adapt on the LR of one half of B100, evaluate on the other half, check forgetting
# on bicubic Set5.
#   benchmarks/adaptation.sh DEGRADATION MODEL WORKDIR [finetune-unpaired options...]
set -euo pipefail
deg=${1:?degradation (nearest or bd)}; model=${2:?model}; work=${3:?work dir}; shift 3
bench=${BENCH:-../shared/data/benchmarks}
mkdir -p "$work/lr_all" "$work/adapt_lr" "$work/heldout/HR"
# 1. LR of every B100 image with the unseen degradation (and the base model's scores).
drn eval --dataset B100 --data-dir "$bench" --degradation "$deg" --model "$model" \
    --save-lr "$work/lr_all" --json > "$work/base_all.json" 2>/dev/null
# 2. Halves by sorted name: the first half's LR is for adaptation, the second half is held out.
mapfile -t names < <(ls "$bench/B100/HR" | sort)
half=$(( ${#names[@]} / 2 ))
for i in "${!names[@]}"; do
  stem=${names[$i]%.*}
  if (( i < half )); then cp "$work/lr_all/${stem}_x4.png" "$work/adapt_lr/"; else ln -sf "$(realpath "$bench/B100/HR/${names[$i]}")" "$work/heldout/HR/"; fi
done
# 3. Adapt on the first half's LR photos (no HR).
rm -rf "$work/run"
drn finetune-unpaired "$work/adapt_lr" --model "$model" --out "$work/run" "$@" 2> "$work/adapt.log"
tail -1 "$work/adapt.log"
# 4. Held-out half, base vs adapted; bicubic Set5, base vs adapted (forgetting).
for m in "$model" "$work/run/model.safetensors"; do
  h=$(drn eval --dataset "$work/heldout/HR" --degradation "$deg" --model "$m" --json 2>/dev/null | tail -1)
  s=$(drn eval --dataset Set5 --data-dir "$bench" --model "$m" --json 2>/dev/null | tail -1)
  python3 -c "import json,sys; h,s=json.loads(sys.argv[1]),json.loads(sys.argv[2]); print(f'{sys.argv[3]}: held-out B100 {h[\"degradation\"]} {h[\"psnr\"]:.3f} dB / {h[\"ssim\"]:.4f}; Set5 bicubic {s[\"psnr\"]:.3f} dB')" "$h" "$s" "$m"
done
