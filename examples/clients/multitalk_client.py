#!/usr/bin/env python3
"""The old MultiTalk client, pointed at gpugate instead of API Gateway + Lambda.

It submits a video-generation job in the shape the old API Gateway mapping template accepted
({prompt, image_url, audio_url, steps}) with an API key, then polls the job until it ends.
Standard library only.

    GPUGATE_URL=https://gateway.example.com GPUGATE_API_KEY=gpg_... python3 multitalk_client.py

Environment: GPUGATE_URL (base URL; the client calls /api/v1/...), GPUGATE_API_KEY, GPUGATE_CA (optional CA
bundle), PROMPT, IMAGE_URL, AUDIO_URL, STEPS, POLL_SECONDS, TIMEOUT_SECONDS.
"""
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

BASE = os.environ.get("GPUGATE_URL", "https://localhost:8443").rstrip("/")
API_KEY = os.environ["GPUGATE_API_KEY"]
CTX = ssl.create_default_context(cafile=os.environ.get("GPUGATE_CA") or None)
POLL = float(os.environ.get("POLL_SECONDS", "5"))
TIMEOUT = float(os.environ.get("TIMEOUT_SECONDS", "1800"))


def call(method, path, body=None):
    """Send one request; return (status, headers, parsed JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("X-Api-Key", API_KEY)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, context=CTX, timeout=300) as resp:
            return resp.status, resp.headers, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, err.headers, json.loads(raw)
        except ValueError:
            return err.code, err.headers, {"raw": raw.decode(errors="replace")}


def main():
    job = {
        "prompt": os.environ.get("PROMPT", "A person talking to the camera"),
        "image_url": os.environ.get("IMAGE_URL", "s3://inputs/face.png"),
        "audio_url": os.environ.get("AUDIO_URL", "s3://inputs/voice.wav"),
    }
    if os.environ.get("STEPS"):
        job["steps"] = int(os.environ["STEPS"])
    status, headers, body = call("POST", "/api/v1/generate", job)
    while status == 429:
        wait = int(headers.get("Retry-After", "1"))
        print("throttled (%s), retrying in %ds" % (body.get("message"), wait))
        time.sleep(wait)
        status, headers, body = call("POST", "/api/v1/generate", job)
    if status != 200:
        sys.exit("generate: %d %s" % (status, body))
    job_id = body["job_id"]
    print("submitted job", job_id, body.get("status"))

    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        status, _, body = call("GET", "/api/v1/jobs/" + job_id)
        if status != 200:
            sys.exit("status: %d %s" % (status, body))
        print("  job %s: %s %s%%" % (job_id, body["status"], body.get("progress", 0)))
        if body["status"] in ("completed", "failed", "cancelled"):
            print(json.dumps(body, indent=2))
            sys.exit(0 if body["status"] == "completed" else 1)
        time.sleep(POLL)
    sys.exit("timed out")


if __name__ == "__main__":
    main()
