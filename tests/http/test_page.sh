#!/usr/bin/env bash
# The draw-a-digit page in Debian's chromium (tests/http/page_test.js), served
# by the real gradcore binary. Screenshots go to the folder given.
#   test_page.sh GRADCORE SOURCE_DIR BASE_PORT MODEL_DIR SCREENSHOT_DIR
source "$(dirname "$0")/lib.sh" "$1" "$2" "$3" "$4"
shots=$5
mkdir -p "$shots"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (tools/install-deps.sh installs it)"
export NODE_PATH=$source_dir/.deps/npm/node_modules
[ -d "$NODE_PATH/puppeteer-core" ] || fail "puppeteer-core is missing (tools/install-npm-deps.sh installs it)"
start_server
name=$(python3 -c "import json,urllib.request; print(json.load(urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:$http_port/v2/repository/index', method='POST')))[0]['name'])")
node "$source_dir/tests/http/page_test.js" "http://127.0.0.1:$http_port/" "$shots" "$name" || fail "the page test failed"
echo "PASS (screenshots in $shots)"
