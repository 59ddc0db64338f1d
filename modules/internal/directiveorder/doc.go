// Package directiveorder holds the golden test of where gpugate's
// directives sit in Caddy's handler order (each registers its place in its
// own caddyfile.go, anchored to a standard directive), so that a
// Caddyfile needs no `order` lines and a change of the order shows up as a
// diff of testdata/order.json. It also fuzzes the Caddyfile parsing of every
// gpugate directive and global option (fuzz_test.go).
package directiveorder
