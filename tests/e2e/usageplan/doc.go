// Package usageplan holds the end-to-end tests of API keys and usage plans:
// the built gateway binary with caddyfiles/gateway.Caddyfile (embedded
// store) and caddyfiles/cluster.Caddyfile (two instances sharing a real
// redis-server), driven through HTTPS and the gpugate usage-plans CLI.
package usageplan
