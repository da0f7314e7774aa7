#!/usr/bin/env bash
# drn-s-x8: DRN-S x8 (30 blocks, n_feats 8), grown from drn-s-x4 (--grow-from). Two stages.
set -euo pipefail
DATA="--data ../shared/data/train/T91 --data ../shared/data/train/BSD200 --data ../shared/data/train/Kodak24 --data ../shared/data/train/SunHays80"
VAL="--val Set5 --data-dir ../shared/data/benchmarks"

# Stage 1 (3700 steps from scratch): 2800 of a cut cosine, then 900 more
drn train $DATA --out runs/x8a --model drn-s-x8 --steps 3600 --batch-size 8 --patch-size 192 \
    --lr 2e-4 --warmup 100 --seed 21 $VAL --val-every 1200 --save-every 100
drn train --resume runs/x8a --steps 2800
drn train $DATA --out runs/x8b --model drn-s-x8 --init runs/x8a/model.safetensors \
    --steps 900 --batch-size 8 --patch-size 192 --lr 1e-4 --warmup 20 --seed 22 $VAL --val-every 900
# Stage 2 (shipped, 3400 steps): the inner levels grown from the 8350-step drn-s-x4
drn train $DATA --out runs/x8g --model drn-s-x8 --init runs/x8b/model.safetensors \
    --grow-from runs/s4f/model.safetensors --steps 4000 --batch-size 8 --patch-size 192 \
    --lr 1e-4 --warmup 20 --seed 42 $VAL --val-every 1000 --save-every 100
drn train --resume runs/x8g --steps 3400
