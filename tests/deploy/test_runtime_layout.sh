#!/usr/bin/env bash
# The runtime image's files without Docker: deploy/runtime-layout.sh copies the
# binary, its libraries and a model; the binary then runs on those libraries
# alone (the copied dynamic loader, no system library path) and serves the
# model to a HEALTH request. Also checks the Kubernetes manifests.
set -euo pipefail
gradcore=$1 source_dir=$2 port=$3
work=$(mktemp -d /tmp/gradcore-layout.XXXXXX)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
python3 "$source_dir/tests/deploy/check_manifests.py" "$source_dir/deploy"

mnist=$source_dir/data/mnist
[ -f "$mnist/train-images-idx3-ubyte" ] || { echo "SKIP: MNIST not in $mnist"; exit 77; }
"$gradcore" train --model mlp --epochs 1 --train-limit 1000 --test-limit 200 --data "$mnist" --out "$work/m.gcm" >/dev/null
"$source_dir/deploy/runtime-layout.sh" "$gradcore" "$work/m.gcm" "$work/root"
loader=$(find "$work/root" -name 'ld-linux*.so*' | head -1)
[ -n "$loader" ] || { echo "FAIL: no dynamic loader copied"; exit 1; }
libs=$(find "$work/root" -name '*.so*' -printf '%h\n' | sort -u | paste -sd:)
run() { env -i "$loader" --library-path "$libs" "$work/root/opt/gradcore/bin/gradcore" "$@"; }
run --help >/dev/null
# Every library the binary resolves must come from the layout.
outside=$(env -i "$loader" --library-path "$libs" --list "$work/root/opt/gradcore/bin/gradcore" |
  awk '/=> \// { print $3 }' | grep -v "^$work/root" || true)
[ -z "$outside" ] || { echo "FAIL: libraries from outside the layout: $outside"; exit 1; }
# Started directly (not through run), so $! is the server itself.
env -i "$loader" --library-path "$libs" "$work/root/opt/gradcore/bin/gradcore" serve \
  --model "$work/root/opt/gradcore/models/model.gcm" --port "$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do "$gradcore" client --port "$port" health >/dev/null 2>&1 && break; sleep 0.1; done
"$gradcore" client --port "$port" health | grep -q "^serving model_version=1" || { echo "FAIL: no health"; cat "$work/serve.log"; exit 1; }
echo PASS
