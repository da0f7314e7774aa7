#!/usr/bin/env bash
# drn-s-x2: DRN-S x2 (30 blocks, n_feats 32) on clean bicubic LR. Four stages.
set -euo pipefail
DATA="--data ../shared/data/train/T91 --data ../shared/data/train/BSD200 --data ../shared/data/train/Kodak24 --data ../shared/data/train/SunHays80"

# Stage 1: 2800 steps on a lent H200 (batch 32, HR patch 96, lr 2e-4, T91 + Kodak24): ../shared/weights-gpu/
# Stage 2: 1300 steps on the 2-core CPU
drn train $DATA --out runs/x2c --model drn-s-x2 --init ../shared/weights-gpu/drn-s-x2.safetensors --steps 1300 \
    --batch-size 16 --patch-size 96 --lr 1e-4 --warmup 50 --seed 33 --save-every 100 --log-every 50
# Stage 3: 6250 steps on a lent H100 (batch 32, patch 96, 5.9 minutes):
#   RUNS="x2 drn-s-x2 weights/drn-s-x2.safetensors bicubic 32 96 1e-4 52" bash scripts/gpu_lease.sh
# Stage 4 (shipped): 6400 steps, 110 minutes on the CPU
drn train $DATA --out runs/x2d --model drn-s-x2 --init runs/h100-x2.safetensors --steps 100000 --minutes 110 \
    --batch-size 16 --patch-size 96 --lr 5e-5 --warmup 50 --seed 34 \
    --val Set5 --data-dir ../shared/data/benchmarks --val-every 1500 --save-every 100 --log-every 50
