#!/usr/bin/env bash
# Installs the npm packages the tests and benchmarks drive, into .deps/npm
# (git-ignored), only when missing:
#   onnxruntime-node@1.30.0  ONNX Runtime's CPU library, the referee for ONNX
#                            export/import and the peer in bench/onnx. Its
#                            install script would fetch GPU providers from
#                            outside, so ONNXRUNTIME_NODE_INSTALL=skip.
#   puppeteer-core            drives Debian's /usr/bin/chromium (nothing downloaded).
# Prints nothing on success when everything is already there.
#   tools/install-npm-deps.sh        (NODE_PATH for scripts: .deps/npm/node_modules)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=.deps/npm
packages=(onnxruntime-node@1.30.0 puppeteer-core@24.43.1)

missing=()
for spec in "${packages[@]}"; do
  name=${spec%@*}
  want=${spec##*@}
  have=$(node -p "require('./$prefix/node_modules/$name/package.json').version" 2>/dev/null || true)
  [ "$have" = "$want" ] || missing+=("$spec")
done
((${#missing[@]})) || exit 0

echo "install-npm-deps: installing ${missing[*]} into $prefix"
mkdir -p "$prefix"
[ -f "$prefix/package.json" ] || echo '{"name":"gradcore-deps","private":true}' >"$prefix/package.json"
ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "${missing[@]}"
