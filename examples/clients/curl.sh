#!/usr/bin/env bash
# curl calls against the quickstart (./xcaddy.sh run), both chains:
#   pods behind a JWT: 401 without a token, a development token, the user's pods, a pod created with the
#   old test script's GPU type, polled until RUNNING, stopped, deleted;
#   MultiTalk jobs behind an API key: 403 without a key, a key of the "multitalk" plan, a job in the old
#   API Gateway shape polled until completed, the plan's RateLimit headers, the plan's usage.
# Uses the quickstart's local CA. (./xcaddy.sh run prints the same calls, ready to paste.)
set -euo pipefail
URL=${GPUGATE_URL:-https://localhost:8443}
CA=${GPUGATE_CA:-${XDG_DATA_HOME:-$HOME/.local/share}/caddy/pki/authorities/local/root.crt}
BIN=${GPUGATE_BIN:-./bin/gpugate}
ADMIN=${GPUGATE_ADMIN:-localhost:2019}
# The development secret ./xcaddy.sh run gives the quickstart is the default only for the quickstart's own
# loopback address; any other gateway needs its real secret (jwt_auth refuses the development one there).
case "$URL" in
https://localhost:8443 | https://127.0.0.1:8443) DEFAULT_SECRET=gpugate-dev-only-secret-do-not-use-in-production ;;
*) DEFAULT_SECRET= ;;
esac
export GPUGATE_JWT_SECRET=${GPUGATE_JWT_SECRET:-$DEFAULT_SECRET}
if [ -z "$GPUGATE_JWT_SECRET" ]; then
	echo "curl.sh: $URL is not the quickstart; set GPUGATE_JWT_SECRET to the gateway's JWT secret" >&2
	exit 2
fi
c() { curl -sS --cacert "$CA" "$@"; echo; }
# wait_for WHAT WANT SED URL [CURL ARGS...]: poll URL once a second (at most 60 times) until the sed
# expression prints WANT from its answer.
wait_for() {
	local what=$1 want=$2 expr=$3 url=$4 got
	shift 4
	for _ in $(seq 60); do
		got=$(c "$url" "$@" | sed -n "$expr")
		echo "  $what is $got"
		[ "$got" = "$want" ] && return 0
		sleep 1
	done
}

echo "# no token -> 401 with WWW-Authenticate"
c -i "$URL/pods"

echo "# a development token -> the user's pods"
TOKEN=$("$BIN" jwt-token --sub alice --ttl 1h)
AUTH="Authorization: Bearer $TOKEN"
c "$URL/pods" -H "$AUTH"

echo "# create a pod with the old test script's GPU type, wait until it runs, stop it, delete it"
POD=$(c "$URL/pods" -H "$AUTH" -H 'Content-Type: application/json' \
	-d '{"name":"curl-demo","image":"runpod/pytorch:2.4.0-py3.11-cuda12.4.1-devel-ubuntu22.04","gpu_type":"NVIDIA GeForce RTX 3070"}' |
	sed -n 's/.*"pod":{"id":"\([^"]*\)".*/\1/p')
[ -n "$POD" ] || { echo "no pod created" >&2; exit 1; }
echo "created pod $POD"
wait_for "pod $POD" RUNNING 's/.*"desiredStatus":"\([A-Z]*\)".*/\1/p' "$URL/pods/$POD" -H "$AUTH"
c -X POST "$URL/pods/$POD/stop" -H "$AUTH"
c -o /dev/null -w 'DELETE: %{http_code}' -X DELETE "$URL/pods/$POD" -H "$AUTH"

echo "# no API key -> 403"
c -i "$URL/api/v1/jobs"

echo "# an API key of the multitalk plan (shown once), a job in the old API Gateway shape, polled until completed"
KEY=$("$BIN" usage-plans keys create --name curl-demo --plan multitalk --address "$ADMIN" |
	sed -n 's/.*"value": *"\([^"]*\)".*/\1/p')
JOB=$(c "$URL/api/generate" -H "X-Api-Key: $KEY" -H 'Content-Type: application/json' \
	-d '{"prompt":"A person talking to the camera","image_url":"s3://inputs/face.png","audio_url":"s3://inputs/voice.wav"}' |
	sed -n 's/.*"job_id":"\([^"]*\)".*/\1/p')
[ -n "$JOB" ] || { echo "no job submitted" >&2; exit 1; }
echo "submitted job $JOB"
wait_for "job $JOB" completed 's/.*"status":"\([a-z]*\)".*/\1/p' "$URL/api/v1/jobs/$JOB" -H "X-Api-Key: $KEY"
c "$URL/api/v1/jobs/$JOB" -H "X-Api-Key: $KEY"

echo "# the plan's limits on every answer"
c -i "$URL/api/v1/jobs" -H "X-Api-Key: $KEY"

echo "# usage of the multitalk plan, in API Gateway's get-usage shape"
"$BIN" usage-plans usage --plan multitalk --address "$ADMIN"
