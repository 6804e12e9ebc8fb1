#!/usr/bin/env bash
# One epoch of seed-cnn on MNIST, in one run: 1 process × 2 threads, then
# 2 ranks × 1 thread (mpirun on this machine) with gradient buckets of 1 MiB
# (sums overlapping backward) and with one bucket (the sum after backward).
# Prints img/s and the seconds the gradient sums were not hidden.
#   bench/distributed/scaling.sh [TRAIN_LIMIT (default 60000)]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
gradcore="${BUILD:-$repo/build}/tools/gradcore"
limit="${1:-60000}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mpirun=(mpirun --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader,tcp
        --mca btl_vader_single_copy_mechanism none -np 2)
args=(train --model seed-cnn --epochs 1 --batch 128 --train-limit "$limit" --test-limit 1000
      --data "$repo/data/mnist" --out "$tmp/m.gcm")
rate() { sed -n 's/.*(\([0-9]*\) img\/s).*/\1/p' | head -1; }
exposed() { sed -n 's/gradient sums not hidden behind backward: \([0-9.]*\) s/\1/p'; }
one=$("$gradcore" "${args[@]}" --threads 2 2>&1)
echo "1 process x 2 threads:              $(rate <<<"$one") img/s"
for bucket in 1024 1048576; do
  two=$("${mpirun[@]}" "$gradcore" "${args[@]}" --threads 1 --distributed mpi --bucket-kib "$bucket" 2>&1)
  echo "2 ranks x 1 thread, buckets $bucket KiB: $(rate <<<"$two") img/s, sums not hidden $(exposed <<<"$two") s"
done
