// Package authcache is the auth_cache directive: it remembers, for a TTL,
// the request headers an authorization step (usually Caddy's forward_auth)
// set for a given credential, so repeated requests with the same credential
// skip the authorizer, as API Gateway caches Lambda authorizer results.
package authcache
