#!/usr/bin/env python3
"""The old pod-management test script, pointed at gpugate instead of API Gateway + FastAPI.

Flow: list pods, create one, wait until it reports RUNNING, stop it, wait until EXITED, delete it,
and check it is gone. A Bearer JWT goes on every call. Standard library only.

    GPUGATE_URL=https://gateway.example.com GPUGATE_TOKEN=eyJ... python3 pods_client.py

Environment: GPUGATE_URL (base URL of the pod API), GPUGATE_TOKEN (JWT), GPUGATE_CA (optional CA bundle,
e.g. Caddy's local root.crt), POD_IMAGE, POD_GPU_TYPE, POLL_SECONDS (interval), TIMEOUT_SECONDS.
"""
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

BASE = os.environ.get("GPUGATE_URL", "https://localhost:8443").rstrip("/")
TOKEN = os.environ["GPUGATE_TOKEN"]
CTX = ssl.create_default_context(cafile=os.environ.get("GPUGATE_CA") or None)
POLL = float(os.environ.get("POLL_SECONDS", "2"))
TIMEOUT = float(os.environ.get("TIMEOUT_SECONDS", "600"))


def call(method, path, body=None):
    """Send one request; return (status, parsed JSON body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, context=CTX, timeout=60) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, {"raw": raw.decode(errors="replace")}


def wait_for(pod_id, wanted):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        status, pod = call("GET", "/pods/" + pod_id)
        if status != 200:
            sys.exit("GET /pods/%s: %d %s" % (pod_id, status, pod))
        state = pod.get("desiredStatus") or pod.get("status")
        print("  pod %s is %s" % (pod_id, state))
        if state == wanted:
            return pod
        time.sleep(POLL)
    sys.exit("timed out waiting for %s" % wanted)


def main():
    status, pods = call("GET", "/pods")
    if status != 200:
        sys.exit("GET /pods: %d %s" % (status, pods))
    print("listed %d pods" % len(pods))

    status, created = call("POST", "/pods", {
        "name": "pods-client-%d" % int(time.time()),
        "image": os.environ.get("POD_IMAGE", "runpod/pytorch:2.4.0-py3.11-cuda12.4.1-devel-ubuntu22.04"),
        "gpu_type": os.environ.get("POD_GPU_TYPE", "NVIDIA GeForce RTX 4090"),
    })
    if status != 200 or "pod" not in created:
        sys.exit("POST /pods: %d %s" % (status, created))
    pod_id = created["pod"]["id"]
    print("created pod", pod_id)

    wait_for(pod_id, "RUNNING")
    status, body = call("POST", "/pods/%s/stop" % pod_id)
    if status != 200:
        sys.exit("stop: %d %s" % (status, body))
    wait_for(pod_id, "EXITED")

    status, body = call("DELETE", "/pods/" + pod_id)
    if status not in (200, 204):
        sys.exit("DELETE: %d %s" % (status, body))
    status, body = call("GET", "/pods/" + pod_id)
    if status != 404:
        sys.exit("pod still there after delete: %d %s" % (status, body))
    print("deleted pod", pod_id, "- flow OK")


if __name__ == "__main__":
    main()
