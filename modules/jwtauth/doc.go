// Package jwtauth is the jwt_auth Caddy HTTP handler (module
// http.handlers.gpugate_jwt_auth): it verifies bearer JWTs (RFC 7519, with
// the RFC 8725 best practices) against HMAC secrets, PEM public keys, JWKS
// URLs and OIDC discovery, turns claims into placeholders and upstream
// headers, and answers failures through gwerror. See README.md for the
// Caddyfile syntax.
package jwtauth
