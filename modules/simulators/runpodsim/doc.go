// Package runpodsim simulates RunPod's v2 management API
// (https://api.runpod.io/v2: pods, actions, logs, GPU catalog) and its
// Serverless job API (https://api.runpod.ai/v2/{endpoint_id}: run, runsync,
// status, stream, cancel, retry, purge-queue, health), following the
// contracts in docs/upstream-contracts.md field for field.
//
// It checks the bearer key, moves pods through PROVISIONING -> STARTING ->
// RUNNING with configurable delays, enforces allowed actions (409), answers
// errors as application/problem+json, rejects unknown create fields (422),
// knows RunPod's GPU catalog, rate-limits with RateLimit / RateLimit-Policy
// headers and 429, injects faults (latency, 5xx, connection reset), and
// records the requests it received so tests can prove what reached the
// upstream.
//
// Both APIs are served under /v2 on one listener: /v2/pods... and
// /v2/catalog/gpus are management routes, /v2/{endpoint_id}/... are
// Serverless routes for the endpoints registered in Options.Endpoints.
//
// The package is part of the gateway binary: Handler serves a simulator from
// a Caddyfile (directive runpod_simulator), and Start serves one for a Go
// test.
package runpodsim
