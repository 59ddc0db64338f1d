// Package testkit is gpugate's shared test support: it builds and runs the
// gateway binary, starts a real redis-server, and hands out loopback ports.
// Key, token and simulator helpers live beside it in tests/.
//
// Every helper takes a testing.TB and cleans up after itself with t.Cleanup.
// A missing external dependency (redis-server) skips the test locally but
// fails it under CI (CI=true): CI must never pass by skipping.
package testkit
