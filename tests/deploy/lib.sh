# Shared by the tests/deploy scripts: a cluster of replicas behind HAProxy on
# loopback (tools/cluster.sh), its models, and clean-up that always runs.
# Usage: source lib.sh GRADCORE_BINARY SOURCE_DIR BASE_PORT
set -euo pipefail
gradcore=$1 source_dir=$2 port=$3
export GRADCORE=$gradcore
work=$(mktemp -d /tmp/gradcore-deploy.XXXXXX)
cluster() { "$source_dir/tools/cluster.sh" "$@" --run-dir "$work/cluster"; }
cleanup() {
  [ -f "$work/cluster/cluster.env" ] && cluster stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/cluster/*.log; do echo "--- $f" >&2; tail -5 "$f" >&2; done; exit 1; }

mnist=$source_dir/data/mnist
if [ ! -f "$mnist/train-images-idx3-ubyte" ]; then
  echo "SKIP: MNIST not in $mnist (tools/fetch-mnist.sh data/mnist)"
  exit 77
fi

# A quickly trained mlp as version N (seed N, so each version answers differently).
make_model() {  # out version
  "$gradcore" train --model mlp --epochs 1 --train-limit 2000 --test-limit 500 --batch 100 --seed "$2" \
    --version "$2" --data "$mnist" --out "$1" >/dev/null
}

# Runs the load generator through HAProxy in the background; its report goes to $work/load.txt.
start_load() {  # seconds connections
  "$gradcore" loadgen --port "$port" --connections "$2" --duration "$1" --reconnect \
    --images "$mnist/t10k-images-idx3-ubyte" >"$work/load.txt" 2>&1 &
  load_pid=$!
}
finish_load() {
  wait "$load_pid" || fail "loadgen failed: $(cat "$work/load.txt")"
  cat "$work/load.txt"
  grep -q '^failures    0 ' "$work/load.txt" || fail "failed requests: $(cat "$work/load.txt")"
}

# How many replicas HAProxy has UP that serve model version V.
replicas_up_on() { cluster status | awk -v v="$1" '$2 == "UP" && $4 == v' | wc -l; }
# Whether replica rI is in HAProxy state S (UP, DOWN, DRAIN, MAINT) serving version V ("-" for any).
replica_is() { cluster status | awk -v r="$1" -v s="$2" -v v="$3" '$1 == r && $2 == s && (v == "-" || $4 == v)' | grep -q .; }
