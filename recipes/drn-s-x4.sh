#!/usr/bin/env bash
# drn-s-x4: DRN-S x4 on clean bicubic LR (the paper's task). 16 stages, each from the one before;
# the shipped file is stage 15. Validation on Set5 watched progress only (the last step ships).
set -euo pipefail
DATA="--data ../shared/data/train/T91 --data ../shared/data/train/BSD200 --data ../shared/data/train/Kodak24 --data ../shared/data/train/SunHays80"
VAL="--val Set5 --data-dir ../shared/data/benchmarks"

# Stage 1 (2000 steps, bicubic-path start, 2-core CPU, bf16): Set5 31.15
drn train $DATA --out runs/s4a --model drn-s-x4 --steps 3000 --batch-size 8 --patch-size 128 \
    --lr 3e-4 --warmup 100 --precision bf16 --save-every 50 $VAL --val-every 250
drn train --resume runs/s4a --steps 2000          # a shorter cosine, to finish inside the session
# Stage 2 (300 steps): the bf16 arm of experiments/train_precision.sh (INIT=stage 1, LR=1e-4): 31.18
INIT=runs/s4a/model.safetensors LR=1e-4 bash experiments/train_precision.sh runs/prec_late 300
# Stages 3-6: cosine runs of 1400, 650, 2000, 2000 steps at 1e-4 (stage 4: 5e-5), batch 8, patch 128
drn train $DATA --out runs/s4c --model drn-s-x4 --init runs/prec_late/bf16/model.safetensors \
    --steps 1400 --batch-size 8 --patch-size 128 --lr 1e-4 --warmup 50 $VAL --val-every 350
drn train $DATA --out runs/s4d --model drn-s-x4 --init runs/s4c/model.safetensors \
    --steps 650 --batch-size 8 --patch-size 128 --lr 5e-5 --warmup 20
drn train $DATA --out runs/s4e --model drn-s-x4 --init runs/s4d/model.safetensors \
    --steps 2000 --batch-size 8 --patch-size 128 --lr 1e-4 --warmup 50 --seed 5 $VAL --val-every 500
drn train $DATA --out runs/s4f --model drn-s-x4 --init runs/s4e/model.safetensors \
    --steps 2000 --batch-size 8 --patch-size 128 --lr 1e-4 --warmup 50 --seed 6 $VAL --val-every 500
# (8350 steps: Set5 31.54; the start of drn-s-x4-real)
# Stage 7: 2900 steps on a lent H100, batch 32, HR patch 192, peak lr 1e-4, 6.65 minutes:
#   RUNS="x4 drn-s-x4 weights/drn-s-x4.safetensors bicubic 32 192 1e-4 51" bash scripts/gpu_lease.sh
# Stages 8-11 (2-core CPU): 300, 3800, 3250, 3500 steps
drn train $DATA --out runs/ema_0 --model drn-s-x4 --init runs/h100-x4.safetensors \
    --steps 300 --batch-size 8 --patch-size 128 --lr 1e-4 --warmup 20 --seed 71
drn train $DATA --out runs/x4i --model drn-s-x4 --init runs/ema_0/model.safetensors --steps 100000 --minutes 65 \
    --batch-size 8 --patch-size 128 --lr 1e-4 --warmup 20 --seed 73 $VAL --val-every 1000
drn train $DATA --out runs/x4j --model drn-s-x4 --init runs/x4i/model.safetensors --steps 100000 --minutes 125 \
    --batch-size 8 --patch-size 192 --lr 1e-4 --warmup 20 --seed 77 $VAL --val-every 1000
drn train $DATA --out runs/x4k --model drn-s-x4 --init runs/x4j/model.safetensors --steps 100000 --minutes 140 \
    --batch-size 8 --patch-size 192 --lr 6e-5 --warmup 20 --seed 79 $VAL --val-every 1000
# Stage 12: the average of stages 10 and 11 and two H200 runs from stage 11 (batch 8 and batch 64)
drn average runs/x4j/model.safetensors runs/x4k/model.safetensors runs/h200-b8.safetensors \
    runs/h200-b64.safetensors --half -o runs/soup/soup4h.safetensors                 # Set5 31.864
# Stage 15 (shipped): a low-rate L2 run from stage 12, averaged with stage 12              # Set5 31.872
drn train $DATA --out runs/x4l --model drn-s-x4 --init runs/soup/soup4h.safetensors --loss l2 \
    --steps 100000 --minutes 120 --batch-size 8 --patch-size 192 --lr 2e-5 --warmup 20 --seed 101
drn average runs/soup/soup4h.safetensors runs/x4l/model.safetensors --half -o weights/drn-s-x4.safetensors
# Stages 13, 14 and 16 were run and not shipped (docs/training.md, "Stage history").
