#!/usr/bin/env bash
# One short GPU lease, prepared here and run there in a single call that ends by DEADLINE seconds:
#   (a) CUDA benchmarks, one after another on the idle GPU (docs/performance.md, docs/training.md):
#       official fp32 forward vs ours at LR 256/512/1024, where the path's time goes at LR 512,
#       a folder of JPEGs, training's batches and optimiser steps, realistic batches against the step;
#   (b) training runs side by side on the GPU until the deadline (`drn train --minutes`, so each
#       ends with its learning rate decayed); the first starts STAGGER seconds before the others,
#       so its first logged intervals measure its patches/s with the GPU to itself;
#   (c) fp16 weights and metrics of each run, and one log, in $OUT (at most 8 files come back).
#
# Here, before the lease (the device machine sees only the checkout; these folders are ignored;
# the whole tree that travels must stay under 64 MiB, so the training images get what the
# tracked files leave):
#   python scripts/pack_training_data.py ../shared/data/train/T91 ../shared/data/train/Kodak24 \
#       ../shared/data/train/BSD200 ../shared/data/train/SunHays80 -o .gpu/train --budget-mib 26
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 -d .whl platformdirs
#   mkdir -p .gpu/val/Set5/HR && cp ../shared/data/benchmarks/Set5/HR/*.png .gpu/val/Set5/HR/
# More training images fit when the weights a lease does not use stay behind: the tree that
# travels is what is on disk, so move them out for the call and back after (git checkout -- weights/
# restores them; about 25 MB for a lease that trains drn-s-x4 alone), and pack with a larger
# --budget-mib.
# The device call: carry [".gpu", ".whl"], timeout_s 600, command:
#   bash scripts/gpu_lease.sh
# RUNS lists the training runs, one per line: NAME MODEL INIT DEGRADATION BATCH PATCH LR SEED.
# BENCH=0 skips (a) (about two minutes, measured once already: docs/performance.md); one run alone
# trains faster than two sharing the GPU (drn-s-x4 at HR patch 192 on an H200: batch 32 291-343
# patches/s alone, median 230 shared; batch 64 470-520 alone; batch 8 55-95, launch-bound).
set -uo pipefail
start=$SECONDS
out=${OUT:-runs/lease}; mkdir -p "$out"
deadline=${DEADLINE:-560}; stagger=${STAGGER:-45}; bench=${BENCH:-1}
runs=${RUNS:-"x4 drn-s-x4 weights/drn-s-x4.safetensors bicubic 32 192 1e-4 51
x2 drn-s-x2 weights/drn-s-x2.safetensors bicubic 32 96 1e-4 52"}
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
export PYTHONUNBUFFERED=1
log=$out/log.txt
bench_md=$out/bench.md
{ nvidia-smi; python3 -c "import torch; print('torch', torch.__version__)"; } > "$bench_md" 2>&1

if [ "$bench" = 1 ]; then  # each piece capped, so a slow one cannot eat the training time
  for size in 256 512 1024; do
    timeout 40 python3 -m benchmarks.inference --device cuda --size "$size" --repeats 5 >> "$bench_md" 2>&1
  done
  timeout 40 python3 -m benchmarks.path_breakdown --device cuda --size 512 --rows 20 >> "$bench_md" 2>&1
  timeout 45 python3 -m benchmarks.folder_throughput --device cuda --count 10 --size 500 >> "$bench_md" 2>&1
  timeout 90 python3 -m benchmarks.folder_throughput --device cuda --count 10 --size 500 --compile >> "$bench_md" 2>&1
  timeout 30 python3 -m benchmarks.train_data --device cuda --data .gpu/train --batch-size 32 --patch-size 192 \
    >> "$bench_md" 2>&1
  timeout 90 python3 -m benchmarks.train_degradation --device cuda --data .gpu/train/Kodak24 --workers 8 \
    --batch-size 32 --patch-size 128 --steps 20 >> "$bench_md" 2>&1
fi
echo "benchmarks done at ${SECONDS}s" >> "$log"

train() {  # NAME MODEL INIT DEGRADATION BATCH PATCH LR SEED: a run that ends by the deadline
  local name=$1 minutes
  minutes=$(python3 -c "print(round(max(0.5, ($deadline - ($SECONDS - $start) - 40) / 60), 2))")
  echo "$name: start at ${SECONDS}s for $minutes minutes" >> "$log"
  timeout "$(( deadline - (SECONDS - start) ))" python3 -m drn_cli train --data .gpu/train --out "$work/$name" \
    --model "$2" --init "$3" --degradation "$4" --batch-size "$5" --patch-size "$6" --lr "$7" --seed "$8" \
    --steps 1000000 --minutes "$minutes" --warmup 50 --val .gpu/val/Set5/HR --val-every 1000 \
    --save-every 200 --log-every 50 --workers "$(( $(nproc) / 2 ))" > "$work/$name.log" 2>&1
  echo "$name: exit $? at ${SECONDS}s" >> "$log"
}
work=runs/lease_train; rm -rf "$work" && mkdir -p "$work"
first=1
while read -r line; do
  [ -n "$line" ] || continue
  # shellcheck disable=SC2086
  train $line &
  [ $first = 1 ] && sleep "$stagger"; first=0
done <<< "$runs"
wait

python3 - "$out" "$work" <<'PY' >> "$log" 2>&1
import sys
from pathlib import Path
from drn_cli.weights import resolve_model, save_weights
out, runs = Path(sys.argv[1]), Path(sys.argv[2])
for run in sorted(p for p in runs.iterdir() if p.is_dir()):
    source = run / "model.safetensors"
    if source.is_file():
        weights = resolve_model(source)
        save_weights(out / f"{run.name}-fp16.safetensors", weights, half=True)
        print(f"{run.name}: step {weights.provenance['steps']} saved as fp16")
    if (run / "metrics.jsonl").is_file():
        (out / f"{run.name}.metrics.jsonl").write_bytes((run / "metrics.jsonl").read_bytes())
PY
for f in "$work"/*.log; do { echo "== $f"; tail -c 3000 "$f"; } >> "$log"; done
ls -la "$out" >> "$log"
cat "$log"
