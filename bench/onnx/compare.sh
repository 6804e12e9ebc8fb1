#!/usr/bin/env bash
# ONNX Runtime and gradcore on the same model, in one run: exports MODEL to
# ONNX, then times onnxruntime-node (bench/onnx/ort_bench.js: CPU EP,
# optimisation 'all') and `gradcore bench --path both` (the compiled plan and
# the engine's forward pass, infer/plan.h) over the MNIST test set. They
# alternate, one thread count at a time, for ROUNDS rounds (default 2); each
# cell is the best of all its passes. Prints img/s of each, µs per image,
# and plan / ORT.
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
    "$build/tools/gradcore" bench --model "$model" --path both --json --threads "$t" "${args[@]}" > "$tmp/gc-$round-$t.json"
  done
done
/usr/bin/python3 - "$tmp" "$model" <<'PY'
import glob, json, sys
best = {}
for path in glob.glob(sys.argv[1] + "/*.json"):
    report = json.load(open(path))
    ort = path.split("/")[-1].startswith("ort")
    for r in report["results"]:
        kind = "ort" if ort else r["path"]
        cell = best.setdefault((r["threads"], r["batch"]), {})
        if r["images_per_s"] > cell.get(kind, (0, 0))[0]:
            cell[kind] = (r["images_per_s"], r["accuracy"])
print(f"{sys.argv[2]} exported to ONNX; MNIST test set; best img/s over all passes and rounds")
print("threads  batch   ORT img/s  engine img/s  plan img/s  plan us/img  plan/ORT  plan/engine  accuracy ORT / plan")
for (t, b), cell in sorted(best.items()):
    o, e, p = cell["ort"], cell["engine"], cell["plan"]
    print(f"{t:7d}  {b:5d}  {o[0]:10.0f}  {e[0]:12.0f}  {p[0]:10.0f}  {1e6 / p[0]:11.1f}  {p[0] / o[0]:8.2f}"
          f"  {p[0] / e[0]:11.2f}  {100 * o[1]:.2f}% / {100 * p[1]:.2f}%")
PY
