#!/usr/bin/env python3
"""An independent client of the Open Inference Protocol (KServe v2), written
from the protocol's text with nothing but the standard library, against a
running `gradcore serve --http-port`. It covers every route docs/HTTP.md lists
and every error the protocol names; it exits non-zero on the first mismatch.

  v2_client.py PORT TOKEN OTHER_MODEL_FILE MAX_BODY_BYTES
"""
import http.client
import json
import math
import struct
import sys

port, token, other_model, max_body = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
checks = 0


def request(method, path, body=None, headers=None):
    global conn
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.getheader("Connection", "").lower() == "close":
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    return response, data


def expect(condition, what):
    global checks
    checks += 1
    if not condition:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)


def expect_error(status, method, path, body=None, headers=None, what=""):
    response, data = request(method, path, body, headers)
    expect(response.status == status, f"{what}: {method} {path} gave {response.status}, expected {status}: {data[:200]}")
    error = json.loads(data)
    expect(isinstance(error.get("error"), str) and error["error"], f"{what}: the error body is {{\"error\": str}}: {data[:200]}")
    return error["error"]


# ---- health and metadata
for path in ("/v2/health/live", "/v2/health/ready"):
    response, data = request("GET", path)
    expect(response.status == 200 and data == b"", f"GET {path}: 200 with an empty body, got {response.status} {data}")

response, data = request("GET", "/v2")
server = json.loads(data)
expect(response.status == 200 and server["name"] and server["version"], f"server metadata: {server}")
expect("binary_tensor_data" in server["extensions"], "the binary tensor data extension is listed")

response, data = request("POST", "/v2/repository/index", b"")
index = json.loads(data)
expect(response.status == 200 and len(index) == 1 and index[0]["state"] == "READY", f"repository index: {index}")
name, version = index[0]["name"], index[0]["version"]
model_path = "/v2/models/" + name

response, data = request("GET", model_path)
meta = json.loads(data)
expect(response.status == 200 and meta["name"] == name, f"model metadata: {meta}")
expect(meta["versions"][0] == version, f"the current version is listed first: {meta['versions']}")
expect(meta["inputs"][0]["datatype"] == "UINT8" and meta["inputs"][0]["shape"] == [-1, 1, 28, 28], f"inputs: {meta['inputs']}")
outputs = {o["name"]: o for o in meta["outputs"]}
expect(outputs["probabilities"]["datatype"] == "FP32" and outputs["probabilities"]["shape"] == [-1, 10], f"{outputs}")
expect(outputs["class"]["datatype"] == "INT64" and outputs["logits"]["shape"] == [-1, 10], f"{outputs}")
norm = meta["parameters"]["fp32_normalisation"]

response, data = request("GET", f"{model_path}/versions/{version}")
expect(response.status == 200 and json.loads(data)["name"] == name, "versioned metadata")
response, data = request("GET", f"{model_path}/ready")
expect(response.status == 200, "model ready")
response, data = request("GET", f"{model_path}/versions/{version}/ready")
expect(response.status == 200, "model version ready")
expect_error(404, "GET", "/v2/models/no-such-model", what="unknown model")
expect_error(404, "GET", "/v2/models/no-such-model/ready", what="unknown model ready")
expect_error(404, "GET", f"{model_path}/versions/999999", what="unknown version")
expect_error(404, "GET", "/v2/nothing/here", what="unknown route")
expect_error(405, "GET", f"{model_path}/infer", what="infer takes POST")

# ---- infer
# A digit-like picture: a vertical bar (a "1"), as 28x28 bytes.
picture = [[255 if 12 <= x <= 15 and 4 <= y <= 23 else 0 for x in range(28)] for y in range(28)]
flat = [p for row in picture for p in row]


def infer(inputs, outputs=None, extra=None, path=model_path + "/infer"):
    body = {"id": "q-1", "inputs": inputs}
    if outputs is not None:
        body["outputs"] = outputs
    body.update(extra or {})
    response, data = request("POST", path, body)
    expect(response.status == 200, f"infer {json.dumps(body)[:120]}: {response.status} {data[:300]}")
    return json.loads(data)


def outputs_of(answer):
    return {o["name"]: o for o in answer["outputs"]}


answer = infer([{"name": "input", "datatype": "UINT8", "shape": [1, 784], "data": flat}])
expect(answer["id"] == "q-1" and answer["model_name"] == name and answer["model_version"] == version, f"{answer}")
out = outputs_of(answer)
expect(set(out) == {"probabilities", "class", "logits"}, "every output when none is asked for")
p = out["probabilities"]["data"]
expect(out["probabilities"]["shape"] == [1, 10] and out["class"]["shape"] == [1], f"shapes: {out}")
expect(abs(sum(p) - 1) < 1e-5, f"probabilities sum to 1: {sum(p)}")
best = out["class"]["data"][0]
expect(best == max(range(10), key=lambda k: p[k]), "class is the most probable")
expect(best == max(range(10), key=lambda k: out["logits"]["data"][k]), "class is the largest logit")

for shape, data in (([1, 1, 28, 28], [picture]), ([1, 28, 28], picture), ([1, 28, 28], flat)):
    other = outputs_of(infer([{"name": "input", "datatype": "UINT8", "shape": shape, "data": data}]))
    expect(other["logits"]["data"] == out["logits"]["data"], f"shape {shape}, nested or flat, answers alike")

normalised = [(v * norm["scale"] - norm["mean"]) / norm["std"] for v in flat]
fp32 = outputs_of(infer([{"name": "input", "datatype": "FP32", "shape": [1, 784], "data": normalised}]))
expect(all(abs(a - b) < 1e-4 for a, b in zip(fp32["probabilities"]["data"], p)), "FP32 normalised input answers as UINT8")

three = outputs_of(infer([{"name": "input", "datatype": "UINT8", "shape": [3, 784], "data": flat * 3}]))
expect(three["probabilities"]["shape"] == [3, 10] and three["class"]["data"] == [best] * 3, f"a batch of three: {three['class']}")

only_class = infer([{"name": "input", "datatype": "UINT8", "shape": [1, 784], "data": flat}], [{"name": "class"}])
expect([o["name"] for o in only_class["outputs"]] == ["class"], "only the outputs asked for")

pinned = infer([{"name": "input", "datatype": "UINT8", "shape": [1, 784], "data": flat}],
               path=f"{model_path}/versions/{version}/infer")
expect(pinned["model_version"] == version, "a pinned version answers")

# The binary tensor data extension: raw bytes in, raw bytes out.
header = json.dumps({"inputs": [{"name": "input", "datatype": "UINT8", "shape": [1, 784],
                                 "parameters": {"binary_data_size": 784}}],
                     "parameters": {"binary_data_output": True}}).encode()
response, data = request("POST", model_path + "/infer", header + bytes(flat),
                         {"Inference-Header-Content-Length": str(len(header)),
                          "Content-Type": "application/octet-stream"})
expect(response.status == 200, f"binary infer: {response.status} {data[:200]}")
json_bytes = int(response.getheader("Inference-Header-Content-Length"))
binary_answer = json.loads(data[:json_bytes])
offset, raw = json_bytes, {}
for o in binary_answer["outputs"]:
    size = o["parameters"]["binary_data_size"]
    raw[o["name"]] = data[offset:offset + size]
    offset += size
expect(offset == len(data), "the binary outputs fill the rest of the body")
expect(list(struct.unpack("<10f", raw["probabilities"])) == [struct.unpack("<f", struct.pack("<f", v))[0] for v in p],
       "binary probabilities equal the JSON ones")
expect(struct.unpack("<q", raw["class"])[0] == best, "binary class")

# ---- errors
good = {"name": "input", "datatype": "UINT8", "shape": [1, 784], "data": flat}
bad_requests = [
    ("bad JSON", b"{\"inputs\": [", None),
    ("not an object", [1, 2], None),
    ("no inputs", {"id": "x"}, None),
    ("two inputs", {"inputs": [good, good]}, None),
    ("wrong shape", {"inputs": [dict(good, shape=[1, 783], data=flat[:783])]}, None),
    ("wrong datatype", {"inputs": [dict(good, datatype="INT32")]}, None),
    ("too few values", {"inputs": [dict(good, data=flat[:700])]}, None),
    ("too many values", {"inputs": [dict(good, data=flat + [0])]}, None),
    ("a UINT8 value over 255", {"inputs": [dict(good, data=[256] + flat[1:])]}, None),
    ("a fractional UINT8 value", {"inputs": [dict(good, data=[0.5] + flat[1:])]}, None),
    ("an FP32 value that is no normalised pixel", {"inputs": [dict(good, datatype="FP32", data=[1e30] + normalised[1:])]}, None),
    ("an FP32 value that overflows float32", {"inputs": [dict(good, datatype="FP32", data=[1e300] + normalised[1:])]}, None),
    ("an unknown output", {"inputs": [good], "outputs": [{"name": "embedding"}]}, None),
    ("a binary size that does not match", json.dumps({"inputs": [dict(good, parameters={"binary_data_size": 10}, data=None)]}).encode() + bytes(10),
     {"Inference-Header-Content-Length": "placeholder"}),
    ("an image count of 0", {"inputs": [dict(good, shape=[0, 784], data=[])]}, None),
]
for what, body, headers in bad_requests:
    if headers and headers.get("Inference-Header-Content-Length") == "placeholder":
        headers = {"Inference-Header-Content-Length": str(len(body) - 10)}
    message = expect_error(400, "POST", model_path + "/infer", body, headers, what=what)
expect_error(404, "POST", "/v2/models/no-such-model/infer", {"inputs": [good]}, what="infer on an unknown model")
expect_error(404, "POST", f"{model_path}/versions/999999/infer", {"inputs": [good]}, what="infer on an unknown version")
# Over the limit: the headers alone get 413 (and the close), before any body is sent.
conn.putrequest("POST", model_path + "/infer")
conn.putheader("Content-Length", str(max_body + 1))
conn.endheaders()
response = conn.getresponse()
data = response.read()
expect(response.status == 413 and "error" in json.loads(data), f"a body over the limit: {response.status} {data}")
expect(response.getheader("Connection") == "close", "413 closes the connection")
conn.close()
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

# ---- admin: load and roll back need the token
load_path = f"/v2/repository/models/{name}/load"
expect_error(401, "POST", load_path, {"parameters": {"file": other_model}}, what="load without a token")
expect_error(401, "POST", load_path, {"parameters": {"file": other_model}}, {"Authorization": "Bearer wrong"},
             what="load with a wrong token")
auth = {"Authorization": "Bearer " + token}
expect_error(400, "POST", load_path, {"parameters": {"file": "/no/such/model.gcm"}}, auth, what="load of a missing file")
response, data = request("POST", load_path, {"parameters": {"file": other_model}}, auth)
expect(response.status == 200, f"load: {response.status} {data}")
loaded = json.loads(data)
expect(loaded["previous_version"] == version, f"the loaded model replaced version {version}: {loaded}")
answer = infer([good])
expect(answer["model_version"] == loaded["version"], "infer answers from the loaded model")
expect(infer([good], path=f"{model_path}/versions/{version}/infer")["model_version"] == version,
       "the previous version still answers when pinned")
response, data = request("POST", f"/v2/repository/models/{name}/unload", b"", auth)
expect(response.status == 200 and json.loads(data)["version"] == version, f"unload rolls back: {data}")
expect(infer([good])["model_version"] == version, "infer answers from the model rolled back to")

# ---- the other routes on the port
response, data = request("GET", "/metrics")
expect(response.status == 200 and b"gradcore_http_requests_total" in data, "/metrics")
response, data = request("GET", "/healthz")
expect(response.status == 200 and data == b"ok\n", "/healthz")
response, data = request("GET", "/")
expect(response.status == 200 and b"<canvas" in data and response.getheader("Content-Type").startswith("text/html"), "the page")

print(f"v2_client: {checks} checks passed")
