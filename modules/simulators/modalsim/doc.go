// Package modalsim simulates a Modal web endpoint serving the MultiTalk job
// API, field for field as the shared contracts (upstreams.md in the shared/ folder beside this repository) describe it, for
// gpugate's tests:
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
//     processing -> completed, GET /api/v1/jobs, DELETE /api/v1/jobs/{id},
//     GET /api/v1/jobs/{id}/download, GET /health without auth, and a bearer
//     key check on everything else.
//   - Test-only routes: GET|POST /api/v1/slow?duration=D (a web function that
//     runs for D, to exercise the 303 mechanics) and GET /api/v1/stream
//     (server-sent events, flushed one by one).
//
// Every request received is recorded (method, host, SNI, path, query,
// headers, body) so tests can prove what reached the upstream.
package modalsim
