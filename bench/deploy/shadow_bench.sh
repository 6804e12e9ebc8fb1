#!/usr/bin/env bash
# What a shadow model costs the live answers: the load generator against one
# `gradcore serve` without a shadow, then with --shadow SHADOW_MODEL at 100%
# of the batches, alternating, ROUNDS pairs in one run (the machine's other
# load drifts; alternating spreads it over both).
#   bench/deploy/shadow_bench.sh MODEL SHADOW_MODEL [SECONDS] [CONNECTIONS] [ROUNDS] [PORT]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
model=$1 shadow=$2 seconds=${3:-5} connections=${4:-64} rounds=${5:-3} port=${6:-28300}
gradcore=${GRADCORE:-$root/build/tools/gradcore}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
log=$(mktemp /tmp/gradcore-shadow-bench.XXXXXX)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -f "$log"' EXIT

serve() {  # serve options...
  "$gradcore" serve --model "$model" --port "$port" "$@" 2>"$log" &
  server=$!
  for _ in $(seq 100); do
    "$gradcore" client --port "$port" health >/dev/null 2>&1 && return
    sleep 0.1
  done
  cat "$log" >&2
  exit 1
}

stop() {
  kill "$server"
  wait "$server" || true
  server=""
}

load() {  # label
  local out
  out=$("$gradcore" loadgen --port "$port" --connections "$connections" --duration "$seconds" 2>&1)
  grep -q '^failures    0 ' <<<"$out" || { echo "$out" >&2; exit 1; }
  awk -v label="$1" '/^throughput/ { rps = $2 } /^latency/ { p50 = $4; p99 = $8 }
    END { printf "| %-22s | %9.0f | %8.2f | %8.2f |\n", label, rps, p50 / 1000, p99 / 1000 }' <<<"$out"
}

shadow_line() {  # the shadow's own counts, from STATS
  "$gradcore" client --port "$port" stats | python3 -c '
import json, sys
s = json.load(sys.stdin)["shadow"]
print("    shadow: %d batches offered, %d dropped, %d images compared, agreement %.4f, its forward pass p50 %d us"
      % (s["batches_offered"], s["batches_dropped"], s["images_compared"], s["agreement"], s["latency_us"]["p50"]))'
}

echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(date -u +%F), $connections connections, ${seconds} s each"
echo "| setup                  |     req/s | p50 ms   | p99 ms   |"
echo "|------------------------|----------:|---------:|---------:|"
for ((round = 1; round <= rounds; round++)); do
  serve
  load "no shadow, round $round"
  stop
  serve --shadow "$shadow"
  load "--shadow, round $round"
  shadow_line
  stop
done
