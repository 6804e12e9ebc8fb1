#!/usr/bin/env bash
# The main job, from a fresh Debian machine: install, build, fetch MNIST,
# train the seed CNN, evaluate it, save models/mnist.gcm, quantize it to
# models/mnist-int8.gcm and evaluate that, export it as
# models/mnist.onnx and run that in ONNX Runtime, serve it over TCP and HTTP
# and classify a few test digits through the server (one with curl).
#   EPOCHS=5 PORT=7878 HTTP_PORT=8080 tools/main-job.sh
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${EPOCHS:-5}
port=${PORT:-7878}
http_port=${HTTP_PORT:-8080}

tools/install-deps.sh
tools/install-npm-deps.sh
cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target gradcore
tools/fetch-mnist.sh data/mnist
gradcore=build/tools/gradcore

$gradcore train --model seed-cnn --epochs "$epochs" --batch 128 --opt adam --lr 1e-3 --schedule cosine \
  --out models/mnist.gcm
$gradcore eval --model models/mnist.gcm
$gradcore inspect models/mnist.gcm
# Int8 (docs/QUANTIZATION.md): calibrated on 1,000 training images.
$gradcore quantize --model models/mnist.gcm --calib-images 1000 --out models/mnist-int8.gcm
$gradcore eval --model models/mnist-int8.gcm
# The model as ONNX, checked by ONNX Runtime over the test set (its accuracy
# must be eval's), from float32 and from uint8 pixels.
$gradcore export --model models/mnist.gcm --out models/mnist.onnx
$gradcore export --model models/mnist.gcm --out models/mnist-raw.onnx --raw-input
for onnx in models/mnist.onnx models/mnist-raw.onnx; do
  node bench/onnx/ort_bench.js "$onnx" --batches 256 --threads 1 --passes 1
done

echo "== serving models/mnist.gcm on 127.0.0.1:$port (TCP) and 127.0.0.1:$http_port (HTTP)"
$gradcore serve --model models/mnist.gcm --port "$port" --http-port "$http_port" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  $gradcore client --port "$port" health >/dev/null 2>&1 && break
  sleep 0.1
done
$gradcore client --port "$port" info
# The first five test digits (labels 7 2 1 0 4), sent as one IDX file.
head -c $((16 + 5 * 784)) data/mnist/t10k-images-idx3-ubyte | python3 -c '
import sys; d = bytearray(sys.stdin.buffer.read()); d[4:8] = (5).to_bytes(4, "big"); sys.stdout.buffer.write(d)' \
  > models/five-digits-idx3-ubyte
$gradcore client --port "$port" predict models/five-digits-idx3-ubyte
# The first test digit (a 7) over HTTP, the Open Inference Protocol (docs/HTTP.md).
python3 -c '
import json, sys
pixels = list(open("data/mnist/t10k-images-idx3-ubyte", "rb").read()[16:16 + 784])
print(json.dumps({"id": "main-job", "inputs": [{"name": "input", "datatype": "UINT8", "shape": [1, 784], "data": pixels}],
                  "outputs": [{"name": "class"}]}))' > models/first-digit.json
curl -sS --fail-with-body "http://127.0.0.1:$http_port/v2/models/mnist/infer" -H "Content-Type: application/json" \
  --data-binary @models/first-digit.json
echo
kill -TERM $server
wait $server
trap - EXIT
echo "== done: server drained and exited 0"
