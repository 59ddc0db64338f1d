// Package health is the gpugate_health handler: liveness (the process
// serves) and readiness (the configuration is the running one and not
// shutting down, the usage-plan store answers within its timeout, the JWKS
// key sets are fresh) for load balancers, Docker's HEALTHCHECK and
// orchestrators, as a JSON report with one entry per check and 503 when not
// ready. Components take part by registering a Checker module in
// Namespace; the `gpugate health-check` command probes an endpoint for
// container health checks.
package health
