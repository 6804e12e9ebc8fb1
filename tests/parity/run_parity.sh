#!/bin/sh
# ctest lab_torch_parity: for each preset, a freshly initialised model's
# gradients on 16 MNIST test images plus 10 Adam steps (gradcore grads
# --conv-algo direct), compared with PyTorch in float32 and float64
# (torch_parity.py: exact zeros and the Adam losses' distance from float64
# are required with direct). Exit 77 (skipped) without python3-torch or
# MNIST.   Usage: run_parity.sh GRADCORE_BINARY WORK_DIR
set -u
gradcore=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
src=${GRADCORE_SOURCE_DIR:-$here/../..}
mnist=${GRADCORE_DATA:-$src/data}/mnist
python=${PYTHON:-/usr/bin/python3}

"$python" -c "import torch" 2>/dev/null || { echo "SKIP: $python cannot import torch (apt-get install python3-torch)"; exit 77; }
if [ ! -f "$mnist/t10k-images-idx3-ubyte" ] && [ ! -f "$mnist/t10k-images-idx3-ubyte.gz" ]; then
  echo "SKIP: MNIST not found in $mnist (run tools/fetch-mnist.sh)"
  exit 77
fi
mkdir -p "$work"
status=0
for model in seed-cnn lenet5 mlp; do
  "$gradcore" grads --model "$model" --seed 1 --data test --index 0 --count 16 --adam-steps 10 --conv-algo direct \
    --data-dir "$mnist" --out "$work/parity-$model.gcm" || exit 1
  "$python" "$here/torch_parity.py" "$work/parity-$model.gcm" || status=1
done
exit $status
