// Package deploy holds the end-to-end tests of running gpugate the way
// examples/ deploys it: every production Caddyfile started by an
// unprivileged user on unprivileged ports, binding loopback for a localhost
// site; the health endpoints a load balancer probes; the metrics the
// observability pack (examples/observability) queries in a real scrape;
// gpugate's OpenTelemetry spans received over OTLP; the lint of the
// deployment files (shellcheck, systemd-analyze, promtool); and the drain
// settings (shutdown_delay, grace_period, stop timeouts) agreeing with the
// upstream timeouts.
package deploy
