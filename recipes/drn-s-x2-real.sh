#!/usr/bin/env bash
# drn-s-x2-real: the shipped drn-s-x2 continued on realistic LR at x2 (--degradation real; the
# family's blur scales with the factor, docs/training.md "Realistic degradations"), a fifth of
# the patches clean (real.TRAINING). One stage on the 2-core CPU (AMX, bf16), sharing it with
# development work; stopped at step 5900 with 12 of its 125 minutes left (lr 5e-6 of 2e-4), the
# fp16 file of that step shipped (recipes/README.md's save line, TOTAL_STEPS 5900).
set -euo pipefail
DATA="--data ../shared/data/train/T91 --data ../shared/data/train/BSD200 --data ../shared/data/train/Kodak24 --data ../shared/data/train/SunHays80"

drn train $DATA --out runs/x2real --model drn-s-x2 --init drn-s-x2 --degradation real \
    --steps 100000 --minutes 125 --batch-size 16 --patch-size 96 --lr 2e-4 --warmup 100 --seed 36 \
    --save-every 100 --log-every 50
