// Package policy is the gateway-wide policy that no single module can
// enforce: the request policy handler (gpugate_request_policy), first on
// every HTTP server, which keeps identity headers the gateway's own and
// refuses non-canonical paths; and the gpugate config adapter, which reads a
// Caddyfile like Caddy's adapter and adds that handler to every server and a
// redaction of every client credential to every log. See README.md.
package policy
