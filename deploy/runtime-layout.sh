#!/usr/bin/env bash
# The files of the runtime image, under OUT: the gradcore binary in
# /opt/gradcore/bin, the model as /opt/gradcore/models/model.gcm, and every
# shared library the binary loads (ldd), at the same paths as here.
#   deploy/runtime-layout.sh BINARY MODEL OUT
set -euo pipefail
binary=$1 model=$2 out=$3
[ -x "$binary" ] || { echo "runtime-layout: $binary: not an executable" >&2; exit 1; }
[ -f "$model" ] || { echo "runtime-layout: $model: no such model file" >&2; exit 1; }
mkdir -p "$out/opt/gradcore/bin" "$out/opt/gradcore/models"
cp "$binary" "$out/opt/gradcore/bin/gradcore"
cp "$model" "$out/opt/gradcore/models/model.gcm"
# Lines "name => /path (addr)" and "/lib64/ld-linux... (addr)"; vdso has no file.
ldd "$binary" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
  cp --parents -L "$lib" "$out"
done
echo "runtime-layout: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1) in $out"
