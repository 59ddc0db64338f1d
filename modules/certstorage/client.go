package certstorage

import (
	"errors"
	"net/url"

	"github.com/redis/go-redis/v9"
)

// newClient builds the Redis client of rawURL, redis://[user:password@]host:port/db
// or rediss://... (TLS). It is the only place the storage makes a client:
// everything else is written against redis.UniversalClient, so a Sentinel
// or Cluster client fits unchanged. Errors never repeat the URL (it may
// hold a password).
func newClient(rawURL string) (redis.UniversalClient, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, ue.Err
		}
		return nil, err
	}
	// Calls are bounded by the storage timeout through their context.
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts), nil
}
