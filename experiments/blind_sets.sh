#!/usr/bin/env bash
# The synthetic "unknown degradation" sets of docs/adaptation.md (Blind adaptation), built from
# training images only (never a benchmark): for each degradation, the LR of BSD200's first 100
# images (sorted names) to adapt on, and the HR of the next 40 to score on (`drn eval --dataset
# WORK/NAME/heldout/HR --degradation NAME`), and the LR of Kodak24's first 8 for one-picture --adapt.
#   experiments/blind_sets.sh WORK DEGRADATION...
set -euo pipefail
work=${1:?work dir}; shift
train=${TRAIN:-../shared/data/train}
here=$(dirname "$0")
for deg in "$@"; do
  d="$work/$deg"
  [ -d "$d/adapt_lr" ] && continue
  mkdir -p "$d/adapt/HR" "$d/heldout/HR" "$d/single/HR"
  mapfile -t names < <(ls "$train/BSD200" | sort)
  for i in $(seq 0 99); do ln -sf "$(realpath "$train/BSD200/${names[$i]}")" "$d/adapt/HR/"; done
  for i in $(seq 100 139); do ln -sf "$(realpath "$train/BSD200/${names[$i]}")" "$d/heldout/HR/"; done
  mapfile -t kodak < <(ls "$train/Kodak24" | sort)
  for i in $(seq 0 7); do ln -sf "$(realpath "$train/Kodak24/${kodak[$i]}")" "$d/single/HR/"; done
  python3 "$here/../scripts/make_lr.py" "$d/adapt/HR" "$d/adapt_lr" "$deg" > /dev/null
  python3 "$here/../scripts/make_lr.py" "$d/single/HR" "$d/single_lr" "$deg" > /dev/null
done
