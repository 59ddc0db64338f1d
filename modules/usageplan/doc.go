// Package usageplan enforces API-key usage plans, AWS API Gateway style:
// throttling (GCRA token buckets), calendar quotas, per-key concurrency caps
// and per-route cost, with keys stored only as SHA-256 hashes. It provides
// the usage_plans app (global option), the usage_plan handler (directive),
// the admin.api.gpugate_usage_plans endpoints and the `gpugate usage-plans` CLI.
// State lives in a store (sub-package store): embedded or Redis. See
// README.md for the syntax.
package usageplan
