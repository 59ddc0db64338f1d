package usageplan

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gpugate/gpugate/modules/internal/redisconn"
	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/modules/usageplan/store/embedded"
	"github.com/gpugate/gpugate/modules/usageplan/store/redisstore"
)

// stores keeps open stores across config reloads, keyed by store URL (and
// timeout, for Redis), the way Caddy's reverse proxy keeps its upstream hosts: a
// reload that keeps the URL keeps the counters, the file lock and the
// Redis connections; the last config to let go closes the store.
var stores = caddy.NewUsagePool()

// pooledStore adapts a store to caddy.Destructor.
type pooledStore struct{ store.Store }

// Destruct closes the store when the last config lets go of it.
func (p pooledStore) Destruct() error { return p.Close() }

// checkStoreURL validates a store URL without opening it or resolving a
// Redis URL's secrets.
func checkStoreURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("usage_plans: store resolved to nothing; set the variable it names (e.g. GPUGATE_REDIS_URL)")
	}
	if redisconn.IsRedisURL(raw) {
		if err := redisconn.Check(raw); err != nil {
			return fmt.Errorf("usage_plans: store: %w", err)
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("usage_plans: store: not a URL; write memory://, file:///path/usage.db or %s", redisconn.Example)
	}
	switch u.Scheme {
	case "memory":
		return nil
	case "file":
		if filePath(u) == "" {
			return fmt.Errorf("usage_plans: store %s: write file:///absolute/path/usage.db", raw)
		}
		return nil
	default:
		return fmt.Errorf("usage_plans: store scheme %q: write memory://, file:///path/usage.db or a Redis URL (%s)", u.Scheme, redisconn.Example)
	}
}

// filePath returns the file path of a file:// URL (file:///abs or
// file://relative/path).
func filePath(u *url.URL) string {
	return u.Host + u.Path
}

// storeKind is the metric label of a store URL's kind: memory, file or
// redis (any Redis deployment).
func storeKind(raw string) string {
	if redisconn.IsRedisURL(raw) {
		return "redis"
	}
	scheme, _, _ := strings.Cut(raw, "://")
	return scheme
}

// acquireStore opens the store of rawURL or reuses the one a previous
// config opened. The returned id must be released with stores.Delete.
// onError receives the store's background errors.
func acquireStore(rawURL string, timeout time.Duration, onError func(error)) (store.Store, string, error) {
	if err := checkStoreURL(rawURL); err != nil {
		return nil, "", err
	}
	// An embedded store is one per URL (a file can be opened only once); a
	// Redis client is built with its timeout, so a new timeout gets a new
	// client.
	id := rawURL
	if storeKind(rawURL) == "redis" {
		id += "#" + timeout.String()
	}
	v, _, err := stores.LoadOrNew(id, func() (caddy.Destructor, error) {
		st, err := openStore(rawURL, timeout, onError)
		if err != nil {
			return nil, err
		}
		return pooledStore{st}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return v.(pooledStore).Store, id, nil
}

func openStore(rawURL string, timeout time.Duration, onError func(error)) (store.Store, error) {
	if redisconn.IsRedisURL(rawURL) {
		return redisstore.Open(rawURL, redisstore.Options{Timeout: timeout, OnError: onError})
	}
	u, _ := url.Parse(rawURL)
	if u.Scheme == "memory" {
		return embedded.OpenMemory(), nil
	}
	return embedded.OpenFile(filePath(u), embedded.Options{OnError: onError})
}
