#!/usr/bin/env bash
# ONNX Runtime and gradcore on the same model, in one run: exports MODEL to
# ONNX, then times onnxruntime-node (bench/onnx/ort_bench.js: CPU EP,
# optimisation 'all') and gradcore (bench/onnx/bench_gradcore, which imports
# the same .onnx file) over the MNIST test set. The two alternate, one thread
# count at a time, for ROUNDS rounds (default 2); each cell is the best of
# all its passes. Prints img/s of both and gradcore / ORT.
#
#   bench/onnx/compare.sh MODEL.gcm [--batches 1,64,256] [--threads 1,2] [--passes 5]
#   environment: ROUNDS (default 2), BUILD (default build)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
build="${BUILD:-build}"
rounds="${ROUNDS:-2}"
model="${1:?usage: bench/onnx/compare.sh MODEL.gcm [--batches B] [--threads T] [--passes P]}"
shift
threads="1,2"
args=()
while (($#)); do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$build/tools/gradcore" export --model "$model" --out "$tmp/model.onnx" >/dev/null
for round in $(seq "$rounds"); do
  for t in ${threads//,/ }; do
    node bench/onnx/ort_bench.js "$tmp/model.onnx" --json --threads "$t" "${args[@]}" > "$tmp/ort-$round-$t.json"
    "$build/bench/onnx/bench_gradcore" "$tmp/model.onnx" --json --threads "$t" "${args[@]}" > "$tmp/gc-$round-$t.json"
  done
done
/usr/bin/python3 - "$tmp" "$model" <<'PY'
import glob, json, sys
best = {}
for path in glob.glob(sys.argv[1] + "/*.json"):
    report = json.load(open(path))
    kind = "ort" if path.split("/")[-1].startswith("ort") else "gc"
    for r in report["results"]:
        key = (r["threads"], r["batch"])
        cell = best.setdefault(key, {})
        if r["images_per_s"] > cell.get(kind, (0, 0))[0]:
            cell[kind] = (r["images_per_s"], r["accuracy"])
print(f"{sys.argv[2]} exported to ONNX; MNIST test set; best img/s over all passes and rounds")
print("threads  batch   ORT img/s  gradcore img/s  gradcore/ORT  accuracy ORT / gradcore")
for (t, b), cell in sorted(best.items()):
    o, g = cell["ort"], cell["gc"]
    print(f"{t:7d}  {b:5d}  {o[0]:10.0f}  {g[0]:14.0f}  {g[0] / o[0]:12.2f}  {100 * o[1]:.2f}% / {100 * g[1]:.2f}%")
PY
