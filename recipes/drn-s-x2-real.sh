#!/usr/bin/env bash
# drn-s-x2-real: the shipped drn-s-x2 continued on realistic LR at x2 (--degradation real; the
# family's blur scales with the factor, docs/training.md "Realistic degradations"), a fifth of
# the patches clean (real.TRAINING). Three stages on the 2-core CPU (AMX, bf16), sharing it with
# development work. Stage 1 stopped at step 5900 with 12 of its 125 minutes left (lr 5e-6 of
# 2e-4), the fp16 file of that step shipped (recipes/README.md's save line, TOTAL_STEPS 5900).
set -euo pipefail
DATA="--data ../shared/data/train/T91 --data ../shared/data/train/BSD200 --data ../shared/data/train/Kodak24 --data ../shared/data/train/SunHays80"

drn train $DATA --out runs/x2real --model drn-s-x2 --init drn-s-x2 --degradation real \
    --steps 100000 --minutes 125 --batch-size 16 --patch-size 96 --lr 2e-4 --warmup 100 --seed 36 \
    --save-every 100 --log-every 50

# Stage 2, from stage 1's shipped file (git show 7d64cda:weights/drn-s-x2-real.safetensors): a
# 100-minute cosine at half the peak lr, run to its end (step 5600, lr 1e-7); the last step
# shipped (TOTAL_STEPS 11500).
drn train $DATA --out runs/x2real2 --model drn-s-x2 --init drn-s-x2-real --degradation real \
    --steps 100000 --minutes 100 --batch-size 16 --patch-size 96 --lr 1e-4 --warmup 100 --seed 37 \
    --save-every 100 --log-every 50

# Stage 3, from stage 2's shipped file (git show 2663d32:weights/drn-s-x2-real.safetensors): a
# 105-minute cosine at peak lr 7e-5, run to its end (step 5250, lr 1e-7); the last step shipped
# (TOTAL_STEPS 16750).
drn train $DATA --out runs/x2real3 --model drn-s-x2 --init drn-s-x2-real --degradation real \
    --steps 100000 --minutes 105 --batch-size 16 --patch-size 96 --lr 7e-5 --warmup 100 --seed 38 \
    --save-every 100 --log-every 50
