// Package usageplan enforces API-key usage plans: throttling, quotas, concurrency (global option usage_plans, directive usage_plan).
package usageplan
