// Package modalsim simulates a Modal web endpoint serving the MultiTalk job
// API, field for field as docs/upstream-contracts.md describes it:
//
//   - Modal's layer: optional proxy auth (Modal-Key / Modal-Secret, 401
//     text/plain when missing or wrong) and the web request limit (150 s in
//     production, configurable here): a call still running at the limit
//     answers 303 with Location = the same URL plus
//     ?__modal_function_call_id=fc-...; a GET on it waits again and answers
//     303 while the call is pending, 200 with the result when done; a result
//     is read once.
//   - The MultiTalk app: POST /api/v1/generate with its validation (422
//     {"detail":[...]}), GET /api/v1/jobs/{id} progressing pending ->
//     processing -> completed with result.s3_output, GET /api/v1/jobs
//     ({jobs,count}), DELETE /api/v1/jobs/{id}, GET
//     /api/v1/jobs/{id}/download, GET /api/v1/health without auth, and the
//     bearer check on everything else (FastAPI's HTTPBearer: 403 without a
//     bearer token; the app: 401 for a wrong key).
//   - Simulator-only routes: GET|POST /api/v1/slow?duration=D (a web
//     function that runs for D, to exercise the 303 mechanics) and GET
//     /api/v1/stream (server-sent events, flushed one by one).
//
// Tests use New(opts).Start(t) or StartTLS(t); every request received is
// recorded (method, host, SNI, path, query, headers, body) so they can prove
// what reached the upstream. Handler serves a simulator from a Caddyfile
// (directive modal_simulator).
package modalsim
