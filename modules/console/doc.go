// Package console is gpugate's operator console: HTML pages on Caddy's admin
// endpoint (admin API module admin.api.gpugate_console, under
// /gpugate/console/) that list the usage plans with their limits and the API
// keys, create keys (the value shown once), disable, enable and delete them,
// chart each key's daily use over the last 30 days, and show its throttle
// buckets, concurrency slots and the store's health. The pages are
// server-rendered (they read without JavaScript; a small embedded script
// only enhances them) and talk to the usage_plans app in-process.
package console
