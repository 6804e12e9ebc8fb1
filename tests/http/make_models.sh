#!/usr/bin/env bash
# The http tests' fixture: two MLPs trained on real MNIST, v1 good enough
# for drawn digits (one epoch of the full training set), v2 a quick other
# version to load and roll back. Exits 77 (skip) without MNIST.
#   make_models.sh GRADCORE_BINARY SOURCE_DIR OUT_DIR
set -euo pipefail
gradcore=$1 mnist=$2/data/mnist out=$3
if [ ! -f "$mnist/train-images-idx3-ubyte" ]; then
  echo "SKIP: MNIST not in $mnist (tools/fetch-mnist.sh data/mnist)"
  exit 77
fi
mkdir -p "$out"
"$gradcore" train --model mlp --epochs 1 --batch 64 --seed 1 --version 1 --data "$mnist" --out "$out/v1.gcm" >/dev/null
"$gradcore" train --model mlp --epochs 1 --train-limit 2000 --test-limit 500 --batch 100 --seed 2 --version 2 \
  --data "$mnist" --out "$out/v2.gcm" >/dev/null
echo "models in $out"
