// Package certs proves end to end that gateway instances sharing the
// Redis certificate storage (caddy.storage.gpugate_redis) obtain one
// certificate between them, from a real ACME CA: Caddy's own acme_server,
// run by the built binary on a loopback port.
//
// How the CA's HTTP-01 validation reaches the gateways without port 80 or
// DNS: the site name is gpugate.test (a reserved name that never
// resolves), and the CA process runs with HTTP_PROXY pointing at the
// test's challenge router. The ACME server's validation client honours
// the proxy environment (smallstep's acme client uses
// http.ProxyFromEnvironment), so its GET http://gpugate.test/.well-known/
// acme-challenge/<token> reaches the router, which forwards it to one of
// the gateways' HTTP ports, as DNS plus a load balancer on port 80 would.
// The gateway that answers need not be the one that asked for the
// certificate: Caddy solves HTTP-01 challenges through the shared storage
// (certmagic's distributed solver), which is what lets instances behind a
// load balancer get certificates at all. The test clients connect to each
// gateway's own HTTPS port with SNI gpugate.test and trust the CA's root.
//
// Issuances are counted from the CA's access log: one POST .../finalize
// answered 200 is one certificate signed.
package certs
