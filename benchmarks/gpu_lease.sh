#!/usr/bin/env bash
# One short GPU lease, prepared here and run there in a single call (about 10 minutes):
#   (a) inference benchmarks (official fp32 forward vs ours at LR 256/512/1024; a folder of 50 photos),
#   (b) training's data and optimiser steps (benchmarks/train_data.py), then training a variant from given weights for the minutes left,
#   (c) fp16 weights (each file well under 16 MiB) and the logs in $OUT.
#
# Here, before the lease (the device machine sees only the checkout; these folders are ignored):
#   python benchmarks/pack_training_data.py ../shared/data/train/T91 ../shared/data/train/Kodak24 \
#       ../shared/data/train/BSD200 ../shared/data/train/SunHays80 -o .gpu/train --budget-mib 40
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 -d .whl platformdirs
#   mkdir -p .gpu/val/Set5/HR && cp ../shared/data/benchmarks/Set5/HR/*.png .gpu/val/Set5/HR/
# The device call: carry [".gpu", ".whl"], command:
#   MODEL=drn-s-x4 INIT=weights/drn-s-x4.safetensors DEGRADATION=real STEPS=3000 bash benchmarks/gpu_lease.sh
set -uo pipefail
out=${OUT:-runs/lease}; mkdir -p "$out"
model=${MODEL:-drn-s-x4}; init=${INIT:-}; degradation=${DEGRADATION:-bicubic}
steps=${STEPS:-3000}; batch=${BATCH:-32}; patch=${PATCH:-192}; lr=${LR:-1e-4}; minutes=${TRAIN_MINUTES:-7}
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
export PYTHONUNBUFFERED=1
nvidia-smi > "$out/gpu.txt" 2>&1
{ for size in 256 512 1024; do python3 benchmarks/inference.py --device cuda --size "$size" --repeats 5; done; } \
  > "$out/inference.md" 2>&1
python3 benchmarks/folder_throughput.py --device cuda --count 50 --size 500 > "$out/folder.md" 2>&1
python3 benchmarks/train_data.py --device cuda --data .gpu/train --batch-size "$batch" --patch-size "$patch" \
  > "$out/train_data.md" 2>&1
init_args=(); [ -n "$init" ] && init_args=(--init "$init")
timeout "$((minutes * 60))" python3 -m drn_cli train --data .gpu/train --out "$out/run" --model "$model" \
  "${init_args[@]}" --degradation "$degradation" --steps "$steps" --batch-size "$batch" --patch-size "$patch" \
  --lr "$lr" --warmup 50 --val .gpu/val/Set5/HR --val-every 500 --save-every 100 --log-every 50 \
  --workers "$(( $(nproc) - 1 ))" > "$out/train.log" 2>&1
cp "$out/run/metrics.jsonl" "$out/" 2>/dev/null
python3 - "$out" <<'PY'
import sys
from pathlib import Path
from drn_cli.weights import resolve_model, save_weights
out = Path(sys.argv[1])
for name in ("model", "best"):
    source = out / "run" / f"{name}.safetensors"
    if source.is_file():
        save_weights(out / f"{name}-fp16.safetensors", resolve_model(source), half=True)
PY
rm -rf "$out/run"   # checkpoint.pt holds optimiser state: too big to bring back
ls -la "$out"
