# Shared by the tests/http scripts: the real gradcore binary serving a model
# trained here on real MNIST, with its HTTP port on; clean-up always runs.
# Usage: source lib.sh GRADCORE_BINARY SOURCE_DIR BASE_PORT MODEL_DIR
set -euo pipefail
gradcore=$1 source_dir=$2 port=$3 models=$4
http_port=$((port + 1))
work=$(mktemp -d /tmp/gradcore-http.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/serve.log" ] && tail -20 "$work/serve.log" >&2; exit 1; }

for v in 1 2; do
  [ -f "$models/v$v.gcm" ] || { echo "SKIP: no $models/v$v.gcm (the http_models fixture needs real MNIST)"; exit 77; }
done

# Starts `gradcore serve` on the ports with extra options; returns once /healthz answers.
start_server() {
  GRADCORE_RELOAD_TOKEN=http-test-token "$gradcore" serve --model "$models/v1.gcm" --port "$port" \
    --http-port "$http_port" "$@" >"$work/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$http_port/healthz', timeout=1)" \
      2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || fail "gradcore serve exited"
    sleep 0.1
  done
  fail "the HTTP port did not answer"
}
