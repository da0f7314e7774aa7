#!/usr/bin/env bash
# One row of docs/adaptation.md's blind table: adapt MODEL on the LR of a set made by
# experiments/blind_sets.sh (WORK/DEG/adapt_lr, no HR), then score the held-out HR of the same
# degradation and bicubic Set5 (forgetting), before and after.
#   experiments/blind_adapt.sh WORK DEG MODEL RUN [finetune-unpaired options...]
#   experiments/blind_adapt.sh WORK DEG MODEL RUN --oracle [drn train options...]   # paired training on the true degradation
set -euo pipefail
work=${1:?work}; deg=${2:?degradation}; model=${3:?model}; name=${4:?run name}; shift 4
bench=${BENCH:-../shared/data/benchmarks}; train=${TRAIN:-../shared/data/train}
d="$work/$deg"
score() {  # MODEL -> "heldout_psnr heldout_ssim set5_psnr"
  local h s
  h=$(drn eval --dataset "$d/heldout/HR" --degradation "$deg" --model "$1" --json 2>/dev/null | tail -1)
  s=$(drn eval --dataset Set5 --data-dir "$bench" --model "$1" --json 2>/dev/null | tail -1)
  python3 -c "import json,sys; h,s=map(json.loads,sys.argv[1:3]); print(f'{h[\"psnr\"]:.3f} {h[\"ssim\"]:.4f} {s[\"psnr\"]:.3f}')" "$h" "$s"
}
base="$d/base_$(basename "$model" .safetensors)"
[ -f "$base" ] || score "$model" > "$base"
rm -rf "$d/$name"
start=$(date +%s)
if [ "${1:-}" = "--oracle" ]; then
  shift
  drn train --data "$train/T91" --data "$train/SunHays80" --data "$train/Kodak24" --out "$d/$name" --model drn-s-x4 \
    --init "$model" --degradation "$deg" --steps 400 --batch-size 8 --patch-size 128 --lr 1e-4 --warmup 20 "$@" > "$d/$name.log" 2>&1
else
  drn finetune-unpaired "$d/adapt_lr" --model "$model" --out "$d/$name" "$@" > "$d/$name.log" 2>&1
fi
seconds=$(( $(date +%s) - start ))
read -r bp bs b5 < "$base"
read -r ap as a5 < <(score "$d/$name/model.safetensors")
python3 -c "import sys; bp,bs,b5,ap,as_,a5=map(float,sys.argv[1:7]); print(f'| {sys.argv[7]} | {sys.argv[8]} | {bp:.3f} -> {ap:.3f} ({ap-bp:+.3f}) | {bs:.4f} -> {as_:.4f} | {b5:.3f} -> {a5:.3f} ({a5-b5:+.3f}) | {sys.argv[9]} s |')" \
  "$bp" "$bs" "$b5" "$ap" "$as" "$a5" "$deg" "$name: $*" "$seconds"
grep -o "read from the photos: .*" "$d/$name.log" || true
grep -i "held out\|lost\|kept" "$d/$name.log" | tail -3 || true
