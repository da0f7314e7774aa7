#!/usr/bin/env bash
# Folder throughput of `drn upscale` with 1 and N processes on the CPU (torchrun), same run.
#   benchmarks/upscale_ranks.sh IMAGES_DIR [N] [drn upscale options...]
# Prints images/s for each; outputs go to a temporary folder that is removed.
set -euo pipefail
dir=${1:?folder of images}; n=${2:-2}; shift $(( $# >= 2 ? 2 : 1 ))
count=$(find "$dir" -maxdepth 1 -type f | wc -l)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
run() {  # run LABEL COMMAND...
  local label=$1; shift
  local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null 2>&1; t1=$(date +%s.%N)
  python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); print(f'| {sys.argv[3]} | {s:.1f} s | {int(sys.argv[4])/s:.2f} |')" "$t0" "$t1" "$label" "$count"
}
echo "$count images from $dir, $(nproc) cores"
echo "| processes | wall clock | images/s |"
echo "|---|---|---|"
run "1" drn upscale "$dir" -o "$work/one" --device cpu "$@"
run "$n (torchrun)" python3 -m torch.distributed.run --standalone --nproc_per_node "$n" -m drn_cli upscale "$dir" -o "$work/many" --device cpu "$@"
