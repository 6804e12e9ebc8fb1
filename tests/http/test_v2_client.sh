#!/usr/bin/env bash
# The real gradcore binary's HTTP port against tests/http/v2_client.py, an
# independent Open Inference Protocol client (Python's http.client).
source "$(dirname "$0")/lib.sh" "$@"
start_server --http-max-body 2000000
python3 "$source_dir/tests/http/v2_client.py" "$http_port" http-test-token "$models/v2.gcm" 2000000 ||
  fail "v2_client.py failed"
echo PASS
