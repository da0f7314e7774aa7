#!/usr/bin/env bash
# PSNR effect of bf16 training: the same short drn-s-x4 run (same seed, data stream and steps)
# in fp32 and in bf16, each then scored on Set5 with `drn eval` in fp32.
#   experiments/train_precision.sh WORKDIR [STEPS]
# From scratch by default; INIT=WEIGHTS continues trained weights instead (late training), with
# LR (default 3e-4) as the peak learning rate.
set -euo pipefail
work=${1:?work dir}; steps=${2:-100}
init=(); if [ -n "${INIT:-}" ]; then init=(--init "$INIT"); fi
T=${TRAIN:-../shared/data/train}; B=${BENCH:-../shared/data/benchmarks}
for p in fp32 bf16; do
  rm -rf "$work/$p"
  start=$SECONDS
  drn train --data "$T/T91" --data "$T/BSD200" --data "$T/Kodak24" --data "$T/SunHays80" \
      --out "$work/$p" --model drn-s-x4 --steps "$steps" --batch-size 8 --patch-size 128 --lr "${LR:-3e-4}" --warmup 20 \
      "${init[@]}" --precision "$p" --save-every "$steps" --log-every "$steps" > /dev/null 2>&1
  echo "$p: $((SECONDS - start)) s for $steps steps"
  drn eval --dataset Set5 --data-dir "$B" --model "$work/$p/model.safetensors" --precision fp32 --json 2>/dev/null \
      | tail -1 | python3 -c "import json,sys; r=json.load(sys.stdin); print('$p training, Set5:', round(r['psnr'],3), round(r['ssim'],4))"
done
