#!/usr/bin/env bash
# The paper's adaptation experiment (docs/adaptation.md): LR made with a degradation the model
# never saw, adapt on the LR of the first half of B100 (sorted names), evaluate on the other
# half, and check forgetting on bicubic Set5.
#   benchmarks/adaptation.sh DEGRADATION MODEL WORKDIR RUN_NAME [finetune-unpaired options...]
# The base model's LR and scores are made once per WORKDIR and reused by later runs.
set -euo pipefail
deg=${1:?degradation (nearest or bd)}; model=${2:?model}; work=${3:?work dir}; name=${4:?run name}; shift 4
bench=${BENCH:-../shared/data/benchmarks}
score() {  # score MODEL -> "heldout_psnr heldout_ssim set5_psnr"
  local h s
  h=$(drn eval --dataset "$work/heldout/HR" --degradation "$deg" --model "$1" --json 2>/dev/null | tail -1)
  s=$(drn eval --dataset Set5 --data-dir "$bench" --model "$1" --json 2>/dev/null | tail -1)
  python3 -c "import json,sys; h,s=json.loads(sys.argv[1]),json.loads(sys.argv[2]); print(f'{h[\"psnr\"]:.3f} {h[\"ssim\"]:.4f} {s[\"psnr\"]:.3f}')" "$h" "$s"
}
if [ ! -f "$work/base_scores" ]; then
  mkdir -p "$work/lr_all" "$work/adapt_lr" "$work/heldout/HR"
  drn eval --dataset B100 --data-dir "$bench" --degradation "$deg" --model "$model" \
      --save-lr "$work/lr_all" --json > /dev/null 2>&1
  mapfile -t names < <(ls "$bench/B100/HR" | sort)
  half=$(( ${#names[@]} / 2 ))
  for i in "${!names[@]}"; do
    stem=${names[$i]%.*}
    if (( i < half )); then cp "$work/lr_all/${stem}_x4.png" "$work/adapt_lr/"
    else ln -sf "$(realpath "$bench/B100/HR/${names[$i]}")" "$work/heldout/HR/"; fi
  done
  score "$model" > "$work/base_scores"
fi
rm -rf "$work/$name"
drn finetune-unpaired "$work/adapt_lr" --model "$model" --out "$work/$name" "$@" 2> "$work/$name.log"
read -r bp bs b5 < "$work/base_scores"
read -r ap as a5 < <(score "$work/$name/model.safetensors")
loop=$(grep -o "closed-loop L1 on the photos: [0-9.]* -> [0-9.]*" "$work/$name.log" | sed 's/.*photos: //')
python3 -c "import sys; bp,bs,b5,ap,as_,a5=map(float,sys.argv[1:7]); print(f'| {sys.argv[7]} | {sys.argv[8]} | {bp:.3f} -> {ap:.3f} ({ap-bp:+.3f}) | {bs:.4f} -> {as_:.4f} | {b5:.3f} -> {a5:.3f} ({a5-b5:+.3f}) | {sys.argv[9]} |')" \
  "$bp" "$bs" "$b5" "$ap" "$as" "$a5" "$deg" "$name: $*" "$loop"
