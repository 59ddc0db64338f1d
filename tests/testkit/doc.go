// Package testkit is gpugate's shared test support: it builds and runs the
// gateway binary (and a bare Caddy for load benchmarks), starts a real
// redis-server, hands out loopback ports, makes keys and signed tokens,
// serves a JWKS that rotates and goes down, generates bounded loopback
// load, and drives a headless Chromium (StartBrowser). The RunPod and Modal
// simulators are part of the gateway: modules/simulators.
//
// Every helper takes a testing.TB and cleans up after itself with t.Cleanup.
// A missing external dependency (redis-server, chromium) skips the test locally but
// fails it under CI (CI=true): CI must never pass by skipping.
package testkit
