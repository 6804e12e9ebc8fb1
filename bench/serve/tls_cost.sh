#!/usr/bin/env bash
# What TLS costs the serving port: one model served twice at once, plaintext
# and over TLS (a throwaway CA and certificate made here with `openssl`),
# loaded in turn by `gradcore loadgen` at each connection count, ROUNDS times
# alternating, so both transports see the same moments of a shared machine.
# Prints req/s, p50 and p99 as loadgen measured them, and the server's own CPU
# per request (user + system, from /proc, at the clock tick's 10 ms). The
# servers inherit the environment: OMP_WAIT_POLICY=passive keeps their idle
# OpenMP threads from spinning, which the CPU figure would otherwise count.
#   bench/serve/tls_cost.sh MODEL [SECONDS] [ROUNDS] [CONNECTIONS...]
#   OMP_WAIT_POLICY=passive bench/serve/tls_cost.sh models/mnist.gcm 5 2 1 64
set -euo pipefail
cd "$(dirname "$0")/../.."
gradcore=${GRADCORE:-build/tools/gradcore}
model=$1
seconds=${2:-5}
rounds=${3:-2}
shift $(($# < 3 ? $# : 3))
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 64)
images=data/mnist/t10k-images-idx3-ubyte

dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=tls_cost CA" \
  -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
echo "subjectAltName=IP:127.0.0.1" > "$dir/ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial 1 -days 1 \
  -extfile "$dir/ext" -out "$dir/server.pem" 2>/dev/null

# Starts a server on a free port; sets `port` and `pid`.
start_server() {
  local log=$1
  shift
  "$gradcore" serve --model "$model" --port 0 --max-batch 64 --max-delay-us 1000 "$@" 2>"$log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    port=$(sed -n 's/.*event=serving port=\([0-9]*\).*/\1/p' "$log")
    [ -n "$port" ] && return
    sleep 0.1
  done
  echo "tls_cost: the server did not start:" >&2
  cat "$log" >&2
  exit 1
}
start_server "$dir/plain.log"
plain_port=$port plain_pid=$pid
start_server "$dir/tls.log" --tls-cert "$dir/server.pem" --tls-key "$dir/server.key"
tls_port=$port tls_pid=$pid

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

printf "%-11s %-9s %9s %9s %9s %16s\n" connections transport "req/s" "p50 ms" "p99 ms" "server us/req"
for round in $(seq "$rounds"); do
  for connections in "${counts[@]}"; do
    for transport in plain tls; do
      if [ "$transport" = tls ]; then
        server=$tls_pid args=(--port "$tls_port" --tls --tls-ca "$dir/ca.pem")
      else
        server=$plain_pid args=(--port "$plain_port")
      fi
      before=$(cpu_ticks "$server")
      out=$("$gradcore" loadgen "${args[@]}" --connections "$connections" --duration "$seconds" --images "$images")
      after=$(cpu_ticks "$server")
      rps=$(sed -n 's/^throughput *\([0-9.]*\) req\/s.*/\1/p' <<<"$out")
      p50=$(sed -n 's/^latency us *p50 \([0-9.]*\).*/\1/p' <<<"$out")
      p99=$(sed -n 's/^latency us.*p99 \([0-9.]*\).*/\1/p' <<<"$out")
      ok=$(sed -n 's/^requests ok \([0-9]*\).*/\1/p' <<<"$out")
      grep -q "^failures    0 " <<<"$out" || { echo "tls_cost: failed requests:" >&2; echo "$out" >&2; exit 1; }
      awk -v c="$connections" -v t="$transport" -v r="$rps" -v a="$p50" -v b="$p99" -v ticks=$((after - before)) \
          -v ok="$ok" -v hz="$(getconf CLK_TCK)" \
          'BEGIN { printf "%-11s %-9s %9.0f %9.2f %9.2f %16.1f\n", c, t, r, a / 1000, b / 1000, 1e6 * ticks / hz / ok }'
    done
  done
done
