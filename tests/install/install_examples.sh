#!/usr/bin/env bash
# install_examples.sh BUILD_DIR EXAMPLES_DIR GENERATOR CXX [COMPILER_LAUNCHER]
# (BUILD_DIR a whole build: its gradcore binary exports the ONNX model)
#   1. cmake --install BUILD_DIR --prefix <temp>; every #include "..." in an
#      installed header must name an installed header;
#   2. configures and builds EXAMPLES_DIR (find_package(gradcore CONFIG)) in
#      a build tree of its own, against that prefix only;
#   3. runs the examples: the training loop's last loss must be under half its
#      first, the custom op's gradcheck must pass, and load_and_predict must
#      classify images of class 4's and class 9's bar (rows 4-23, no specks)
#      as 4 and 9 with the model the loop saved, and with that model
#      exported to ONNX by the build's `gradcore export` (imported by
#      gradcore::onnx);
#   4. builds load_and_predict again from `pkg-config --cflags --libs
#      gradcore` alone and runs it the same way.
set -euo pipefail
build=$1 examples=$2 generator=$3 cxx=$4 launcher=${5:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "install_examples: $*" >&2; exit 1; }
quiet() {  # runs "$@", showing its output only when it fails
  "$@" > "$work/step.log" 2>&1 || { cat "$work/step.log" >&2; fail "failed: $*"; }
}

prefix=$work/prefix
quiet cmake --install "$build" --prefix "$prefix"
include=$prefix/include/gradcore
[ -f "$include/engine/tensor.h" ] || fail "no $include/engine/tensor.h after the install"
while read -r header; do
  for dep in $(sed -n 's/^#include "\(.*\)"$/\1/p' "$include/$header"); do
    [ -f "$include/$dep" ] || fail "installed $header includes $dep, which is not installed"
  done
done < <(cd "$include" && find . -name '*.h' | sed 's|^\./||')

quiet cmake -G "$generator" -S "$examples" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
  ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher"} -DCMAKE_PREFIX_PATH="$prefix"
grep -q "^gradcore_DIR:PATH=$prefix/" "$work/build/CMakeCache.txt" || fail "find_package found gradcore outside $prefix"
quiet cmake --build "$work/build"

"$work/build/custom_training_loop" "$work/bars.gcm" | tee "$work/train.txt"
first=$(awk '$1 == "step" { print $4; exit }' "$work/train.txt")
last=$(awk '$1 == "step" { v = $4 } END { print v }' "$work/train.txt")
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a / 2) }' || fail "the loss did not fall: $first -> $last"
[ -f "$work/bars.gcm" ] || fail "custom_training_loop saved no model"

"$work/build/custom_op" | tee "$work/op.txt"
grep -qx "gradcheck passed" "$work/op.txt" || fail "custom_op: no 'gradcheck passed'"

bar_image() {  # the 28×28 P5 image of class $1's bar (custom_training_loop.cpp's draw_bar)
  local x y
  printf 'P5\n28 28\n255\n'
  for ((y = 0; y < 28; ++y)); do
    for ((x = 0; x < 28; ++x)); do
      if ((y >= 4 && y < 24 && (x == 4 + 2 * $1 || x == 5 + 2 * $1))); then printf '\377'; else printf '\0'; fi
    done
  done
}
predicts() {  # predicts PROGRAM MODEL: both images get their own class
  local k out
  for k in 4 9; do
    out=$("$1" "$2" "$work/bar$k.pgm") || fail "$1 $2 failed"
    echo "$out"
    [[ $out == *": class $k (p="* ]] || fail "$1: expected class $k"
  done
}
for k in 4 9; do bar_image $k > "$work/bar$k.pgm"; done
predicts "$work/build/load_and_predict" "$work/bars.gcm"
quiet "$build/tools/gradcore" export --model "$work/bars.gcm" --out "$work/bars.onnx"
predicts "$work/build/load_and_predict" "$work/bars.onnx"

pc_dir=$(dirname "$(find "$prefix" -name gradcore.pc)")
flags=$(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs gradcore) || fail "pkg-config --cflags --libs gradcore failed"
echo "pkg-config: $flags"
# shellcheck disable=SC2086  # the flags are words
quiet $launcher "$cxx" -O1 "$examples/load_and_predict.cpp" -o "$work/pc_load_and_predict" $flags
predicts "$work/pc_load_and_predict" "$work/bars.gcm"
echo "install_examples: ok"
