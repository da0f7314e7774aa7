#!/usr/bin/env bash
# drn-s-x4-blur: the shipped drn-s-x4-real continued on blurred LR (--degradation blur: an
# anisotropic Gaussian drawn per patch, major sigma 0.6-3.2 HR px, minor 0.2 up to it, any angle,
# then MATLAB bicubic; faint noise, sigma 0-4, in half the patches). One CPU stage. Its data leaves
# out Kodak24 and BSD200, the pictures docs/adaptation.md scores blind adaptation on.
set -euo pipefail
drn train --data ../shared/data/train/T91 --data ../shared/data/train/SunHays80 --out runs/blur1 \
    --model drn-s-x4 --init weights/drn-s-x4-real.safetensors --degradation blur \
    --steps 1500 --batch-size 8 --patch-size 128 --lr 1e-4 --warmup 50 --seed 21 --save-every 250
