#!/usr/bin/env bash
# Builds and runs the CUDA benchmarks (bench_cuda: every SGEMM version vs
# cuBLAS, conv/pool vs cuDNN, launch overhead) and appends a dated section
# with the device, driver and command to bench/RESULTS.md. Run on a machine
# with an NVIDIA GPU, from anywhere:  bench/cuda/run_all.sh [build-dir]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build-bench-cuda}"
cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target bench_cuda
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  "$build/bench/cuda/bench_cuda"   # says "no CUDA device" and exits 0
  echo "run_all.sh: no GPU here; bench/RESULTS.md left unchanged"
  exit 0
fi
out="$(mktemp)"
"$build/bench/cuda/bench_cuda" | tee "$out"
{
  echo
  echo "## CUDA kernels vs cuBLAS / cuDNN, $(date -u +%Y-%m-%d)"
  echo
  echo "Device: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1);" \
       "commit $(git -C "$root" rev-parse --short HEAD); command: bench/cuda/run_all.sh"
  echo
  cat "$out"
} >> "$root/bench/RESULTS.md"
rm -f "$out"
echo "run_all.sh: appended to bench/RESULTS.md"
