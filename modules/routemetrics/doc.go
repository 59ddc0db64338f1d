// Package routemetrics is the route_metrics handler: API Gateway's
// CloudWatch metrics (Count, 4XXError, 5XXError, Latency,
// IntegrationLatency) as Prometheus series by route and usage plan, both
// bounded by the configuration (the route is the name the operator writes,
// the plan one of the configured plans or "none"), never by a key, key id,
// user or path.
package routemetrics
