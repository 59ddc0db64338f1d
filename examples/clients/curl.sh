#!/usr/bin/env bash
# curl examples against a running gpugate. Run the quickstart first
# (./xcaddy.sh run); these use its local CA and development secret.
set -euo pipefail
URL=${GPUGATE_URL:-https://localhost:8443}
CA=${GPUGATE_CA:-$HOME/.local/share/caddy/pki/authorities/local/root.crt}
BIN=${GPUGATE_BIN:-./bin/gpugate}

# A development token signed with the quickstart's HS256 secret.
TOKEN=$("$BIN" jwt-token --secret-env GPUGATE_JWT_SECRET --sub alice --ttl 1h)

echo "# no token -> 401 with WWW-Authenticate"
curl -sS --cacert "$CA" -i "$URL/" | sed -n '1p;/^www-authenticate/Ip;$p'

echo "# with a token -> 200 from the upstream"
curl -sS --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$URL/"; echo

echo "# API key + usage plan (gateway.Caddyfile): watch RateLimit headers, then a 429 with Retry-After"
# curl -sS --cacert "$CA" -i -H "X-Api-Key: $GPUGATE_API_KEY" "$URL/api/v1/jobs/123"

echo "# CORS preflight, answered at the gateway"
# curl -sS --cacert "$CA" -i -X OPTIONS -H "Origin: https://app.example.com" \
#   -H "Access-Control-Request-Method: POST" "$URL/api/v1/generate"
