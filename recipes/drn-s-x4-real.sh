#!/usr/bin/env bash
# drn-s-x4-real: the 8350-step drn-s-x4 (drn-s-x4.sh after stage 6) continued on realistic LR
# (--degradation real: blur, resize, noise, JPEG; docs/training.md). Four stages.
set -euo pipefail
DATA="--data ../shared/data/train/T91 --data ../shared/data/train/BSD200 --data ../shared/data/train/Kodak24 --data ../shared/data/train/SunHays80"
VAL="--val Set5 --data-dir ../shared/data/benchmarks"

# Stage 1 (3000 steps, no clean share; the run was cut at 3000 of a 3500-step cosine)
drn train $DATA --out runs/real1 --model drn-s-x4 --init runs/s4f/model.safetensors --degradation real \
    --steps 5000 --batch-size 8 --patch-size 128 --lr 2e-4 --warmup 100 --seed 11 $VAL --val-every 1000
drn train --resume runs/real1 --steps 3500
# Stage 2 (1500 steps): a fifth of the patches clean (real.TRAINING, clean_prob 0.2)
drn train $DATA --out runs/real2 --model drn-s-x4 --init runs/real1/best.safetensors --degradation real \
    --steps 1500 --batch-size 8 --patch-size 128 --lr 1e-4 --warmup 50 --seed 12 $VAL --val-every 500
# Stages 3 and 4 on a lent H200 (batch 32, patch 128; 2950 steps at 2e-4, then 1400 at 1e-4):
#   RUNS="real drn-s-x4 weights/drn-s-x4-real.safetensors real 32 128 2e-4 62" bash scripts/gpu_lease.sh
#   RUNS="real2 drn-s-x4 weights/drn-s-x4-real.safetensors real 32 128 1e-4 63" bash scripts/gpu_lease.sh
