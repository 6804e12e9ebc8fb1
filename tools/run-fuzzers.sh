#!/usr/bin/env bash
# Builds every libFuzzer target in the tree with clang
# (-fsanitize=fuzzer,address,undefined) and runs each for a bounded time.
#
#   tools/run-fuzzers.sh [SECONDS_PER_TARGET] [TARGET...]
#     SECONDS_PER_TARGET  default 60
#     TARGET              e.g. fuzz_model; default: every target found
#   environment: FUZZ_BUILD_DIR (default build-fuzz), CXX (default clang++)
#
# Adding a fuzz target: name the file fuzz_<what>.cpp (anywhere in the repo
# outside build directories), define LLVMFuzzerTestOneInput, and declare in
# comment lines inside the file:
#   // fuzz-sources: <paths or globs, relative to the repo root>   (required)
#   // fuzz-corpus: <directories of seed inputs, relative to the repo root>   (optional)
#   // fuzz-flags: <extra compiler and linker flags, e.g. -DX=1 -lprotobuf>   (optional)
# The sources are the library .cpp files the target needs; globs never pick up
# fuzz_*.cpp files. Targets are compiled with
# -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, so code may relax checks (such
# as checksums) that would stop mutated inputs early.
#
# Output: build-fuzz/<target>/{<target>, corpus/, log.txt, crash-*} and one
# summary line per target. Exit status is 1 when a target failed to build or
# found a crash, 0 otherwise.
set -euo pipefail

seconds="${1:-60}"
shift || true
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$repo/build-fuzz}"
cxx="${CXX:-clang++}"
[[ "$cxx" == *clang* ]] || cxx=clang++

# Every line "// <key>: value" of a file, values joined by spaces.
declared() { sed -n "s|^[[:space:]]*//[[:space:]]*$2:[[:space:]]*||p" "$1" | tr '\n' ' '; }

# All fuzz_*.cpp files, outside build directories and .git.
mapfile -t targets < <(cd "$repo" && find . -path ./.git -prune -o -path './build*' -prune -o \
                           -name 'fuzz_*.cpp' -type f -print | sed 's|^\./||' | sort)
if [[ $# -gt 0 ]]; then
  wanted=" $* "
  selected=()
  for t in "${targets[@]}"; do [[ "$wanted" == *" $(basename "$t" .cpp) "* ]] && selected+=("$t"); done
  targets=("${selected[@]}")
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "run-fuzzers: no fuzz_*.cpp targets found${1:+ matching $*}" >&2
  exit 1
fi

failures=0
summary=()
for target_source in "${targets[@]}"; do
  name="$(basename "$target_source" .cpp)"
  out="$build/$name"
  mkdir -p "$out/corpus"

  sources=()
  for pattern in $(declared "$repo/$target_source" fuzz-sources); do
    for file in $(cd "$repo" && compgen -G "$pattern" || true); do
      [[ "$(basename "$file")" == fuzz_*.cpp ]] || sources+=("$repo/$file")
    done
  done
  if [[ ${#sources[@]} -eq 0 ]]; then
    echo "run-fuzzers: $target_source declares no sources (add a '// fuzz-sources: ...' line)" >&2
    summary+=("$name: NOT BUILT (no fuzz-sources line)")
    failures=$((failures + 1))
    continue
  fi

  echo "== $name: building (${#sources[@]} sources)"
  if ! "$cxx" -std=c++20 -O1 -g -fno-omit-frame-pointer \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -I"$repo" \
      "$repo/$target_source" "${sources[@]}" $(declared "$repo/$target_source" fuzz-flags) \
      -o "$out/$name" 2> "$out/build.log"; then
    cat "$out/build.log" >&2
    summary+=("$name: BUILD FAILED (see $out/build.log)")
    failures=$((failures + 1))
    continue
  fi

  for dir in $(declared "$repo/$target_source" fuzz-corpus); do
    [[ -d "$repo/$dir" ]] && find "$repo/$dir" -maxdepth 1 -type f ! -name '*.md' -exec cp -n {} "$out/corpus/" \;
  done

  echo "== $name: fuzzing for ${seconds} s"
  rm -f "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*
  set +e
  "$out/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$out/" "$out/corpus" > "$out/log.txt" 2>&1
  status=$?
  set -e
  runs="$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$out/log.txt" | tail -1)"
  crashes="$(find "$out" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
  corpus_size="$(find "$out/corpus" -type f | wc -l)"
  if [[ $status -ne 0 || $crashes -ne 0 ]]; then
    tail -n 40 "$out/log.txt" >&2
    summary+=("$name: FAILED after ${runs:-?} runs: exit $status, $crashes crash file(s) in $out")
    failures=$((failures + 1))
  else
    summary+=("$name: ${runs:-?} runs in ${seconds} s, no crashes, corpus $corpus_size inputs")
  fi
done

echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
[[ $failures -eq 0 ]]
