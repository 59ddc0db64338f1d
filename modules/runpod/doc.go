// Package runpod is the gateway's RunPod upstream (directive runpod, module
// http.handlers.gpugate_runpod). In mode pods it serves the old FastAPI
// pod contract (GET/POST /pods, /pods/{id}, stop/start, DELETE) translated
// onto RunPod's v2 management API, with validation, allow-lists, defaults and
// per-user pod ownership at the gateway. In modes api and serverless it
// passes requests through to the v2 management API or the Serverless job API
// (with an endpoint alias map), streaming unbuffered. In every mode it strips
// client credentials, injects the RunPod API key, and maps upstream failures
// onto the gateway's error contract.
package runpod
