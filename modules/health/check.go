package health

import "context"

// Namespace is the Caddy module namespace of readiness checkers. Every
// module registered in it (gpugate.health.usage_plans,
// gpugate.health.jwt_auth, ...) is loaded by each gpugate_health handler in
// ready mode and asked for its checks on every probe; a module whose
// component is not configured answers no check.
const Namespace = "gpugate.health"

// Checker is what a component implements to take part in readiness: an app
// (the usage_plans app) or a module over a caddy.UsagePool (jwt_auth's
// shared JWKS key sets), registered as a Caddy module in Namespace.
type Checker interface {
	// CheckHealth runs the component's checks within ctx's deadline and
	// returns one Check each, or none when the component is not in use.
	CheckHealth(ctx context.Context) []Check
}

// Check is one line of the readiness report. Name is stable (a metric
// label and what alerts match on); Detail helps an operator and holds no
// secret, key, token, store URL or key set URL.
type Check struct {
	Name   string
	OK     bool
	Detail string
}
