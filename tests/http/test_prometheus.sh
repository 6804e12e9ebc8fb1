#!/usr/bin/env bash
# A real Prometheus (Debian's) scrapes the HTTP port's /metrics every second:
# gradcore's series must be in its database, queried over its HTTP API, with
# the infer requests this test sent counted.
#   test_prometheus.sh GRADCORE SOURCE_DIR BASE_PORT MODEL_DIR
source "$(dirname "$0")/lib.sh" "$@"
command -v prometheus >/dev/null || fail "prometheus is missing (tools/install-deps.sh installs it)"
prometheus_port=$((port + 2))
start_server
# Three infer requests, so the counter Prometheus reads is not a default.
for i in 1 2 3; do
  python3 - "$http_port" <<'PY' || fail "infer over HTTP failed"
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("POST", "/v2/models/mnist/infer", json.dumps(
    {"inputs": [{"name": "input", "datatype": "UINT8", "shape": [1, 784], "data": [0] * 784}]}))
assert c.getresponse().status == 200
PY
done
cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: gradcore
    static_configs:
      - targets: ["127.0.0.1:$http_port"]
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prometheus_port" >"$work/prometheus.log" 2>&1 &
prometheus_pid=$!
trap 'kill "$prometheus_pid" 2>/dev/null; wait "$prometheus_pid" 2>/dev/null; cleanup' EXIT
# Polls the query API until the series carries the value, for up to 30 s.
python3 - "$prometheus_port" <<'PY' || { tail -20 "$work/prometheus.log" >&2; fail "Prometheus did not ingest gradcore's series"; }
import json, sys, time, urllib.parse, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/api/v1/query?query="
def query(q):
    try:
        with urllib.request.urlopen(base + urllib.parse.quote(q), timeout=2) as r:
            return json.load(r)["data"]["result"]
    except OSError:
        return []
wanted = {'gradcore_requests_total{type="predict"}': 3.0, "gradcore_model_version": 1.0,
          'gradcore_http_responses_total{code="2xx"}': 3.0, 'up{job="gradcore"}': 1.0}
deadline = time.time() + 30
while time.time() < deadline:
    got = {q: query(q) for q in wanted}
    values = {q: float(r[0]["value"][1]) if r else None for q, r in got.items()}
    # 2xx also counts /metrics answers to Prometheus itself: at least the three infers.
    if all(v is not None and (v >= wanted[q] if "2xx" in q else v == wanted[q]) for q, v in values.items()):
        print("prometheus ingested:", values)
        sys.exit(0)
    time.sleep(0.5)
print("last values:", values, file=sys.stderr)
sys.exit(1)
PY
echo PASS
