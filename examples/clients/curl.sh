#!/usr/bin/env bash
# curl calls against the quickstart (./xcaddy.sh run): a 401, a development
# token, a 200, a 403 for a missing scope, then an API key of the free usage
# plan with its RateLimit headers. Uses the quickstart's local CA.
set -euo pipefail
URL=${GPUGATE_URL:-https://localhost:8443}
CA=${GPUGATE_CA:-$HOME/.local/share/caddy/pki/authorities/local/root.crt}
BIN=${GPUGATE_BIN:-./bin/gpugate}
ADMIN=${GPUGATE_ADMIN:-localhost:2019}
# The development secret ./xcaddy.sh run gives the quickstart when none is set.
export GPUGATE_JWT_SECRET=${GPUGATE_JWT_SECRET:-gpugate-dev-only-secret-do-not-use-in-production}
c() { curl -sS --cacert "$CA" "$@"; echo; }

echo "# no token -> 401 with WWW-Authenticate"
c -i "$URL/pods"

echo "# a development token with the pods:read scope -> 200 from the demo upstream"
TOKEN=$("$BIN" jwt-token --sub alice --scope pods:read --ttl 1h)
c "$URL/pods" -H "Authorization: Bearer $TOKEN"

echo "# a token without the scope -> 403 insufficient_scope"
c -i "$URL/pods" -H "Authorization: Bearer $("$BIN" jwt-token --sub bob --ttl 5m)"

echo "# an API key of the free plan (shown once), then /api/* with token + key"
KEY=$("$BIN" usage-plans keys create --name curl-demo --plan free --address "$ADMIN" |
	sed -n 's/.*"value": *"\([^"]*\)".*/\1/p')
c -i "$URL/api/hello" -H "Authorization: Bearer $TOKEN" -H "X-Api-Key: $KEY"

echo "# usage of the free plan, in API Gateway's get-usage shape"
"$BIN" usage-plans usage --plan free --address "$ADMIN"
