#!/usr/bin/env bash
# The paper's adaptation experiment (docs/adaptation.md): LR made with a degradation the model
# never saw, adapt on the LR of the first half of B100 (sorted names), evaluate on the other
# half (and on the adapted-on half), and check forgetting on bicubic Set5. The LR photos are
# written by scripts/make_lr.py: real .jpg files when the degradation has a JPEG stage.
#   experiments/adaptation.sh DEGRADATION MODEL WORKDIR RUN_NAME [finetune-unpaired options...]
# The base model's LR and scores are made once per WORKDIR and reused by later runs.
set -euo pipefail
deg=${1:?degradation (nearest or bd)}; model=${2:?model}; work=${3:?work dir}; name=${4:?run name}; shift 4
bench=${BENCH:-../shared/data/benchmarks}
score() {  # score MODEL -> "heldout_psnr heldout_ssim set5_psnr adapted_half_psnr"
  local h s a
  h=$(drn eval --dataset "$work/heldout/HR" --degradation "$deg" --model "$1" --json 2>/dev/null | tail -1)
  s=$(drn eval --dataset Set5 --data-dir "$bench" --model "$1" --json 2>/dev/null | tail -1)
  a=$(drn eval --dataset "$work/adapt/HR" --degradation "$deg" --model "$1" --json 2>/dev/null | tail -1)
  python3 -c "import json,sys; h,s,a=map(json.loads,sys.argv[1:4]); print(f'{h[\"psnr\"]:.3f} {h[\"ssim\"]:.4f} {s[\"psnr\"]:.3f} {a[\"psnr\"]:.3f}')" "$h" "$s" "$a"
}
if [ ! -f "$work/base_scores" ]; then
  mkdir -p "$work/adapt/HR" "$work/heldout/HR"
  mapfile -t names < <(ls "$bench/B100/HR" | sort)
  half=$(( ${#names[@]} / 2 ))
  for i in "${!names[@]}"; do
    if (( i < half )); then ln -sf "$(realpath "$bench/B100/HR/${names[$i]}")" "$work/adapt/HR/"
    else ln -sf "$(realpath "$bench/B100/HR/${names[$i]}")" "$work/heldout/HR/"; fi
  done
  python3 "$(dirname "$0")/../scripts/make_lr.py" "$work/adapt/HR" "$work/adapt_lr" "$deg" > /dev/null
  score "$model" > "$work/base_scores"
fi
rm -rf "$work/$name"
drn finetune-unpaired "$work/adapt_lr" --model "$model" --out "$work/$name" "$@" 2> "$work/$name.log"
read -r bp bs b5 ba < "$work/base_scores"
read -r ap as a5 aa < <(score "$work/$name/model.safetensors")
loop=$(grep -o "^held out: .*" "$work/$name.log" | sed 's/^held out: //')
read=$(grep -o "read from the photos: .*" "$work/$name.log" || true)
python3 -c "import sys; bp,bs,b5,ba,ap,as_,a5,aa=map(float,sys.argv[1:9]); print(f'| {sys.argv[9]} | {sys.argv[10]} | {bp:.3f} -> {ap:.3f} ({ap-bp:+.3f}) | {bs:.4f} -> {as_:.4f} | {ba:.3f} -> {aa:.3f} ({aa-ba:+.3f}) | {b5:.3f} -> {a5:.3f} ({a5-b5:+.3f}) | {sys.argv[11]} |')" \
  "$bp" "$bs" "$b5" "$ba" "$ap" "$as" "$a5" "$aa" "$deg" "$name: $*" "$loop"
[ -n "$read" ] && echo "$read"
