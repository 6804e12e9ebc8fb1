#!/usr/bin/env bash
# gradcore's HTTP port against ONNX Runtime behind Node's http module
# (bench/http/ort_http_server.js) serving the same Open Inference Protocol
# request, both driven by Debian's wrk (bench/http/infer.lua) in one run:
# single-image requests of the first MNIST test image, 1 and 64 connections;
# then gradcore's binary tensor data extension and its TCP protocol (loadgen)
# at 64 connections.
#   bench/http/wrk_bench.sh MODEL.gcm [SECONDS] [PORT]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
model=$1 seconds=${2:-10} port=${3:-28300}
gradcore=${GRADCORE:-$root/build/tools/gradcore}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} NODE_PATH=$root/.deps/npm/node_modules
work=$(mktemp -d /tmp/gradcore-wrk-bench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
http_port=$((port + 1)) ort_port=$((port + 2))

"$gradcore" export --model "$model" --out "$work/model.onnx" >/dev/null
python3 - "$root/data/mnist/t10k-images-idx3-ubyte" "$work" <<'PY'
import json, sys
pixels = list(open(sys.argv[1], "rb").read()[16:16 + 784])
inputs = {"name": "input", "datatype": "UINT8", "shape": [1, 784]}
open(f"{sys.argv[2]}/json.body", "w").write(json.dumps({"id": "1", "inputs": [dict(inputs, data=pixels)]}))
header = json.dumps({"id": "1", "inputs": [dict(inputs, parameters={"binary_data_size": 784})],
                     "outputs": [{"name": "probabilities", "parameters": {"binary_data": True}},
                                 {"name": "class", "parameters": {"binary_data": True}}]}).encode()
open(f"{sys.argv[2]}/binary.body", "wb").write(header + bytes(pixels))
open(f"{sys.argv[2]}/binary.length", "w").write(str(len(header)))
PY

"$gradcore" serve --model "$model" --port "$port" --http-port "$http_port" --max-delay-us 1000 >"$work/serve.log" 2>&1 &
pids+=($!)
node "$root/bench/http/ort_http_server.js" "$work/model.onnx" "$ort_port" --threads 1 >"$work/ort.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -sf "127.0.0.1:$http_port/healthz" >/dev/null && curl -s -o /dev/null "127.0.0.1:$ort_port/" && break
  sleep 0.1
done

run_wrk() {  # label url-port connections body path [json-bytes]
  local threads=$(($3 < 2 ? 1 : 2)) out
  out=$(wrk -t"$threads" -c"$3" -d"${seconds}s" --latency -s "$root/bench/http/infer.lua" "http://127.0.0.1:$2" \
        -- "$4" "$5" ${6:-} 2>&1)
  grep -q "non-200" <<<"$out" && { echo "$out" >&2; exit 1; }
  awk -v label="$1" -v c="$3" '
    function ms(t) { if (t ~ /us$/) return t / 1000; if (t ~ /ms$/) return t + 0; if (t ~ /s$/) return t * 1000; return t }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) } /^Requests\/sec/ { rps = $2 }
    END { printf "| %-34s | %3d | %9.0f | %7.2f | %7.2f |\n", label, c, rps, p50, p99 }' <<<"$out"
}

echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(date -u +%F), ${seconds} s each, wrk on the same cores"
echo "| server                             | conn |     req/s | p50 ms  | p99 ms  |"
echo "|------------------------------------|-----:|----------:|--------:|--------:|"
for c in 1 64; do
  run_wrk "gradcore HTTP, JSON" "$http_port" "$c" "$work/json.body" /v2/models/mnist/infer
  run_wrk "ONNX Runtime + Node http, JSON" "$ort_port" "$c" "$work/json.body" /v2/models/mnist/infer
done
run_wrk "gradcore HTTP, binary tensor data" "$http_port" 64 "$work/binary.body" /v2/models/mnist/infer \
  "$(cat "$work/binary.length")"
"$gradcore" loadgen --port "$port" --connections 64 --duration "$seconds" 2>&1 |
  awk '/^throughput/ { rps = $2 } /^latency/ { p50 = $4; p99 = $8 }
       END { printf "| %-34s | %3d | %9.0f | %7.2f | %7.2f |\n", "gradcore TCP protocol (loadgen)", 64, rps, p50 / 1000, p99 / 1000 }'
