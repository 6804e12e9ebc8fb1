#!/usr/bin/env bash
# A lone closed-loop client through `gradcore serve`: for each gradcore
# binary given (say today's build and a candidate), one server at a time,
# CONNECTIONS (default 1) connections for DURATION seconds (default 5);
# prints loadgen's p50/p99 and throughput and the server's CPU time per
# request: utime + stime of the server process from /proc/PID/stat, the
# counters getrusage(RUSAGE_SELF) reports inside it, all threads included,
# so OpenMP threads that spin between requests show. The binaries alternate
# for ROUNDS rounds (default 3): the machine's other load falls on each.
#
#   bench/serve/lone_client.sh MODEL.gcm BINARY [BINARY...]
#   environment: ROUNDS, DURATION, CONNECTIONS, PORT (default 7941), SERVE_ARGS (extra serve options)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
model="${1:?usage: bench/serve/lone_client.sh MODEL.gcm BINARY [BINARY...]}"
shift
(($#)) || { echo "lone_client.sh: no gradcore binary given" >&2; exit 2; }
rounds="${ROUNDS:-3}" duration="${DURATION:-5}" connections="${CONNECTIONS:-1}" port="${PORT:-7941}"
ticks="$(getconf CLK_TCK)"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
printf "%-40s %5s %10s %8s %8s %14s\n" binary round "req/s" "p50 us" "p99 us" "server cpu us/req"
for round in $(seq "$rounds"); do
  for binary in "$@"; do
    # shellcheck disable=SC2086
    "$binary" serve --model "$model" --port "$port" ${SERVE_ARGS:-} >/dev/null 2>&1 &
    server=$!
    for _ in $(seq 50); do
      "$binary" client --port "$port" health >/dev/null 2>&1 && break
      sleep 0.1
    done
    before="$(cpu_ticks "$server")"
    report="$("$binary" loadgen --port "$port" --connections "$connections" --duration "$duration" \
      --images data/mnist/t10k-images-idx3-ubyte --labels data/mnist/t10k-labels-idx1-ubyte)"
    after="$(cpu_ticks "$server")"
    kill "$server"
    wait "$server" 2>/dev/null || true
    rate="$(awk '/^throughput/ {print $2}' <<<"$report")"
    p50="$(awk '/^latency/ {print $4}' <<<"$report")"
    p99="$(awk '/^latency/ {print $8}' <<<"$report")"
    requests="$(awk '/^requests ok/ {print $3}' <<<"$report")"
    cpu="$(awk -v t=$((after - before)) -v hz="$ticks" -v n="$requests" 'BEGIN {printf "%.1f", t / hz / n * 1e6}')"
    printf "%-40s %5d %10s %8s %8s %14s\n" "$binary" "$round" "$rate" "$p50" "$p99" "$cpu"
  done
done
