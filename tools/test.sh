#!/usr/bin/env bash
# The test command: installs what the build needs (Debian packages, only when
# missing), fetches MNIST for the end-to-end tests, configures, builds and runs
# every ctest label, then the fuzzers for a bounded time.
#   tools/test.sh                 everything
#   FUZZ_SECONDS=0 tools/test.sh  skip the fuzzers
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
tools/install-npm-deps.sh

build=${BUILD_DIR:-build}
cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$(nproc)"

# The end-to-end tests use the real MNIST; they skip with a message if absent.
tools/fetch-mnist.sh data/mnist || echo "test.sh: MNIST could not be fetched; e2e tests will skip"

# Tests run two at a time on two cores: OpenMP threads that spin while
# waiting would starve each other, so they yield instead.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 600

fuzz_seconds=${FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" -gt 0 ] && [ -x tools/run-fuzzers.sh ]; then
  tools/run-fuzzers.sh "$fuzz_seconds"
fi
