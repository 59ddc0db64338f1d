// Package runpodsim is an in-process simulator of RunPod's v2 management API
// (https://api.runpod.io/v2: pods, actions, logs, GPU catalog) and its
// Serverless job API (https://api.runpod.ai/v2/{endpoint_id}: run, runsync,
// status, stream, cancel, retry, purge-queue, health), following
// the project's shared upstream contracts (upstreams.md in the shared/ folder beside this repository) field for field.
//
// It checks the bearer key, moves pods through PROVISIONING -> STARTING ->
// RUNNING with configurable delays, enforces allowed actions (409), answers
// errors as application/problem+json, rejects unknown create fields (422),
// rate-limits with RateLimit / RateLimit-Policy headers and 429, injects
// faults (latency, 5xx, connection reset), and records every request it
// received so tests can prove what reached the upstream.
//
// Both APIs are served under /v2 on one listener: /v2/pods... and
// /v2/catalog/gpus are management routes, /v2/{endpoint_id}/... are
// Serverless routes for the endpoints registered in Options.Endpoints.
package runpodsim
