// Package runpod holds the end-to-end tests of caddyfiles/runpod.Caddyfile:
// the built gpugate binary (jwt_auth + runpod) against the RunPod simulator
// in modules/simulators/runpodsim, and the pods-list load benchmark against a bare Caddy
// reverse_proxy to the same simulator.
package runpod
