#!/usr/bin/env bash
# HAProxy's cost and what replicas give on this machine: the load generator
# against one replica directly, then through HAProxy (tools/cluster.sh) in
# front of 1, 2 and 3 replicas, all on loopback, in one run.
#   bench/deploy/haproxy_bench.sh MODEL [SECONDS] [CONNECTIONS] [PORT]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
model=$1 seconds=${2:-5} connections=${3:-64} port=${4:-28100}
gradcore=${GRADCORE:-$root/build/tools/gradcore}
export GRADCORE=$gradcore OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
run_dir=$(mktemp -d /tmp/gradcore-haproxy-bench.XXXXXX)
trap '"$root/tools/cluster.sh" stop --run-dir "$run_dir" >/dev/null 2>&1 || true; rm -rf "$run_dir"' EXIT

load() {  # port label
  local out
  out=$("$gradcore" loadgen --port "$1" --connections "$connections" --duration "$seconds" --reconnect 2>&1)
  grep -q '^failures    0 ' <<<"$out" || { echo "$out" >&2; exit 1; }
  awk -v label="$2" '/^throughput/ { rps = $2 } /^latency/ { p50 = $4; p99 = $8 }
    END { printf "| %-26s | %9.0f | %8.1f | %8.1f |\n", label, rps, p50 / 1000, p99 / 1000 }' <<<"$out"
}

echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(date -u +%F), $connections connections, ${seconds} s each"
echo "| setup                      |     req/s | p50 ms   | p99 ms   |"
echo "|----------------------------|----------:|---------:|---------:|"
for replicas in 1 2 3; do
  "$root/tools/cluster.sh" start --replicas "$replicas" --model "$model" --port "$port" --run-dir "$run_dir" >/dev/null
  if [ "$replicas" = 1 ]; then load $((port + 10)) "1 replica, direct"; fi
  load "$port" "HAProxy, $replicas replica(s)"
  "$root/tools/cluster.sh" stop --run-dir "$run_dir" >/dev/null
done
