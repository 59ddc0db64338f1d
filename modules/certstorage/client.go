package certstorage

import (
	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/modules/internal/redisconn"
)

// newClient builds the Redis client of the configured URL through
// redisconn, the gateway's one Redis URL syntax (single node, Sentinel,
// Cluster, TLS, ACL; placeholders resolved), so the storage runs on the same
// Redis as the usage plans whatever its form. Everything else is written
// against redis.UniversalClient. Errors never repeat the URL (it may hold a
// password).
func newClient(configured string) (redis.UniversalClient, error) {
	cfg, err := redisconn.Parse(configured)
	if err != nil {
		return nil, err
	}
	opts, err := cfg.UniversalOptions()
	if err != nil {
		return nil, err
	}
	// Calls are bounded by the storage timeout through their context.
	opts.ContextTimeoutEnabled = true
	return redis.NewUniversalClient(opts), nil
}
