#!/usr/bin/env python3
"""Checks deploy/k8s/*.yaml and deploy/Dockerfile against each other: every
manifest parses and has the fields its kind needs; the Deployment's selector
matches its pod labels and the Service's selector; probes and the Service
name container ports that exist; those ports are the ones the image EXPOSEs
and the serve command binds; the secret and the volume claim it uses exist, and the model is read from it;
a preStop pause and the drain fit in the grace period;
the pod runs as the image's non-root user. A mismatch names the file and field.
Usage: check_manifests.py DEPLOY_DIR"""
import pathlib
import re
import sys

import yaml

deploy = pathlib.Path(sys.argv[1])
problems = []


def need(condition, where, message):
    if not condition:
        problems.append(f"{where}: {message}")
    return condition


docs = {}
for path in sorted((deploy / "k8s").glob("*.yaml")):
    doc = yaml.safe_load(path.read_text())
    if need(isinstance(doc, dict) and "kind" in doc and "apiVersion" in doc, path.name, "no kind/apiVersion"):
        need(doc["kind"] not in docs, path.name, f"second {doc['kind']}")
        docs[doc["kind"]] = (path.name, doc)
for kind in ["Deployment", "Service", "HorizontalPodAutoscaler", "Secret", "PersistentVolumeClaim"]:
    need(kind in docs, "deploy/k8s", f"no {kind} manifest")
if problems:
    sys.exit("\n".join(problems))

dockerfile = (deploy / "Dockerfile").read_text()
exposed = {int(p) for line in re.findall(r"^EXPOSE (.+)$", dockerfile, re.M) for p in line.split()}
user = re.search(r"useradd .*--uid (\d+)", dockerfile)
need(re.search(r"^USER (?!root)", dockerfile, re.M), "Dockerfile", "no non-root USER")
need(re.search(r"^HEALTHCHECK ", dockerfile, re.M), "Dockerfile", "no HEALTHCHECK")
need(len(re.findall(r"^FROM debian:12", dockerfile, re.M)) == 2, "Dockerfile", "expected two debian:12 stages")

name, deployment = docs["Deployment"]
spec = deployment["spec"]
pod = spec["template"]
need(spec["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(), name,
     "spec.selector.matchLabels do not match the pod labels")
container = pod["spec"]["containers"][0]
ports = {p["name"]: p["containerPort"] for p in container["ports"]}
need(set(ports.values()) == exposed, name, f"container ports {sorted(ports.values())} != EXPOSE {sorted(exposed)}")
args = container["args"]
flag = lambda f: int(args[args.index(f) + 1]) if f in args else None
need(flag("--port") == ports.get("predict"), name, f"serve --port {flag('--port')} != port 'predict'")
need(flag("--http-port") == ports.get("http"), name, f"serve --http-port {flag('--http-port')} != port 'http'")
for probe in ["readinessProbe", "livenessProbe"]:
    if need(probe in container, name, f"no {probe}"):
        target = container[probe].get("httpGet") or container[probe].get("tcpSocket")
        need(target and target["port"] in ports, name, f"{probe} names port {target and target['port']}, not a container port")
need(container["readinessProbe"].get("httpGet", {}).get("path") == "/healthz", name, "readinessProbe is not GET /healthz")
need(user and pod["spec"]["securityContext"].get("runAsUser") == int(user.group(1)), name,
     "runAsUser is not the image's user id")
need(pod["spec"]["securityContext"].get("runAsNonRoot") is True, name, "runAsNonRoot is not true")
drain_ms = flag("--drain-timeout-ms")
pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds")
need(pre_stop is not None, name, "no lifecycle.preStop pause before SIGTERM")
need(drain_ms is not None and (pre_stop or 0) + drain_ms / 1000 < pod["spec"]["terminationGracePeriodSeconds"], name,
     "preStop pause + --drain-timeout-ms must end before terminationGracePeriodSeconds")
model = args[args.index("--model") + 1] if "--model" in args else ""
mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
need(any(model.startswith(m.rstrip("/") + "/") for m in mounts), name, f"--model {model} is not on a mounted volume")
secret_refs = [e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", []) if "valueFrom" in e]
need(secret_refs == [docs["Secret"][1]["metadata"]["name"]], name, f"env secret refs {secret_refs} != the Secret")
claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"].get("volumes", []) if "persistentVolumeClaim" in v]
need(claims == [docs["PersistentVolumeClaim"][1]["metadata"]["name"]], name, "volume claim is not the PVC manifest's")

name, service = docs["Service"]
need(service["spec"]["selector"].items() <= pod["metadata"]["labels"].items(), name, "selector does not select the pods")
for p in service["spec"]["ports"]:
    need(p["targetPort"] in ports, name, f"targetPort {p['targetPort']} is not a container port")

name, hpa = docs["HorizontalPodAutoscaler"]
ref = hpa["spec"]["scaleTargetRef"]
need(ref["kind"] == "Deployment" and ref["name"] == deployment["metadata"]["name"], name, "scales another target")
need(hpa["spec"]["minReplicas"] <= spec["replicas"] <= hpa["spec"]["maxReplicas"], name, "replicas outside min..max")
need("requests" in container.get("resources", {}) and "cpu" in container["resources"]["requests"], "deployment",
     "CPU utilisation scaling needs resources.requests.cpu")

if problems:
    sys.exit("\n".join(problems))
print(f"manifests consistent: {', '.join(sorted(docs))}")
