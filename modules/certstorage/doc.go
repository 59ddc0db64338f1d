// Package certstorage is gpugate's Caddy certificate storage on Redis,
// module caddy.storage.gpugate_redis (Caddyfile: the global option
// `storage gpugate_redis { ... }`). Several gateway instances behind one name
// share it, so one instance obtains a certificate and the others load it,
// with Caddy's storage locks keeping them from asking the CA twice.
//
// It implements certmagic.Storage (and certmagic.TryLocker) with the
// semantics of certmagic.FileStorage: atomic writes, keys as file paths
// whose directories are implied, recursive Delete and List, and locks that
// expire when their holder dies. Every Redis key it uses carries one hash
// tag, so it runs unchanged on Redis Cluster.
package certstorage
