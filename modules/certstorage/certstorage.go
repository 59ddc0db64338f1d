package certstorage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"github.com/gpugate/gpugate/modules/internal/redisconn"
	"github.com/redis/go-redis/v9"
)

func init() {
	caddy.RegisterModule(RedisStorage{})
}

// DefaultTimeout bounds each Redis call of the storage.
const DefaultTimeout = 5 * time.Second

// RedisStorage is the Caddy storage module caddy.storage.gpugate_redis:
// Caddy's certificates, keys, ACME accounts, locks and local CA in Redis,
// shared by every instance configured with the same URL and prefix.
type RedisStorage struct {
	// URL of the Redis server: redis://[user:password@]host:port/db or
	// rediss://... for TLS. Global placeholders ({env.REDIS_URL},
	// {file./run/secrets/redis_url}) are expanded at provisioning; a
	// password written literally is refused.
	URL string `json:"url,omitempty"`
	// Prefix of every Redis key, used as a Redis Cluster hash tag (default
	// "gpugate:certs"). Instances that share certificates use the same.
	Prefix string `json:"prefix,omitempty"`
	// LockTTL is how long a lock outlives a holder that died (default 30s).
	LockTTL caddy.Duration `json:"lock_ttl,omitempty"`
	// Timeout bounds each Redis call (default 5s).
	Timeout caddy.Duration `json:"timeout,omitempty"`

	poolKey string
	storage *redisStorage
}

// CaddyModule returns the Caddy module information.
func (RedisStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "caddy.storage.gpugate_redis",
		New: func() caddy.Module { return new(RedisStorage) },
	}
}

// clients keeps Redis clients (with the locks held through them) across
// config reloads, keyed by the resolved URL: a reload neither drops the
// connections nor the renewal of a lock taken before it.
var clients = caddy.NewUsagePool()

// backend is a pooled Redis client and the locks held through it.
type backend struct {
	rdb   redis.UniversalClient
	locks *lockTable
}

// Destruct releases the locks still held and closes the client, when the
// last config using this URL goes.
func (b *backend) Destruct() error {
	for key, h := range b.locks.takeAll() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = unlockScript.Run(ctx, b.rdb, []string{key}, h.token).Err()
		cancel()
	}
	return b.rdb.Close()
}

// Provision resolves the URL and gets a client for it (a new one, or the
// one a previous config opened). It does not connect: a gateway starts
// while Redis is down, and its certificate operations retry.
func (r *RedisStorage) Provision(ctx caddy.Context) error {
	if err := r.check(); err != nil {
		return err
	}
	// The pool key is the URL as resolved now, so a changed variable gets a
	// new client at the next reload; it never leaves this process.
	rawURL := strings.TrimSpace(caddy.NewReplacer().ReplaceKnown(r.URL, ""))
	if err := redisconn.Check(rawURL); err != nil {
		return fmt.Errorf("storage gpugate_redis: url (resolved): %w; check the variable it names", err)
	}
	m, err := registerMetrics(ctx.GetMetricsRegistry())
	if err != nil {
		return fmt.Errorf("storage gpugate_redis: metrics: %w", err)
	}
	val, _, err := clients.LoadOrNew(rawURL, func() (caddy.Destructor, error) {
		rdb, err := newClient(rawURL)
		if err != nil {
			return nil, err
		}
		return &backend{rdb: rdb, locks: newLockTable()}, nil
	})
	if err != nil {
		return fmt.Errorf("storage gpugate_redis: url: %w", err)
	}
	r.poolKey = rawURL
	b := val.(*backend)
	prefix := r.prefix()
	r.storage = &redisStorage{
		rdb:     b.rdb,
		keys:    newKeyspace(prefix),
		locks:   b.locks,
		timeout: durationOr(r.Timeout, DefaultTimeout),
		lockTTL: durationOr(r.LockTTL, DefaultLockTTL),
		poll:    lockPoll,
		name:    prefix,
		logger:  ctx.Logger(),
		metrics: m,
	}
	return nil
}

// Validate checks the configuration (again; Provision did it first).
func (r *RedisStorage) Validate() error { return r.check() }

// Cleanup lets go of the client; the last config using it closes it. Safe
// after a failed Provision.
func (r *RedisStorage) Cleanup() error {
	if r.poolKey == "" {
		return nil
	}
	_, err := clients.Delete(r.poolKey)
	r.poolKey = ""
	return err
}

// CertMagicStorage returns the storage Caddy's TLS and PKI apps use.
func (r *RedisStorage) CertMagicStorage() (certmagic.Storage, error) {
	if r.storage == nil {
		return nil, fmt.Errorf("storage gpugate_redis: not provisioned")
	}
	return r.storage, nil
}

func (r *RedisStorage) prefix() string {
	if r.Prefix == "" {
		return DefaultPrefix
	}
	return r.Prefix
}

// check validates the configured values without resolving placeholders.
func (r *RedisStorage) check() error {
	if err := checkURL(r.URL); err != nil {
		return err
	}
	if strings.ContainsAny(r.Prefix, "{} \t\r\n") {
		return fmt.Errorf("storage gpugate_redis: prefix %q: write a prefix without braces or spaces, e.g. prefix gpugate:certs", r.Prefix)
	}
	if r.LockTTL != 0 && time.Duration(r.LockTTL) < time.Second {
		return fmt.Errorf("storage gpugate_redis: lock_ttl %s is too short to renew; write at least lock_ttl 1s (default 30s)", time.Duration(r.LockTTL))
	}
	if r.Timeout < 0 {
		return fmt.Errorf("storage gpugate_redis: timeout must be positive; write e.g. timeout 5s")
	}
	return nil
}

// checkURL validates the configured URL (redisconn's syntax: single node,
// Sentinel, Cluster, TLS) without resolving placeholders; a password must be
// a placeholder, since a literal one would sit in the adapted JSON,
// autosave.json and the admin API's config.
func checkURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("storage gpugate_redis: no url; write url {env.REDIS_URL} (%s)", redisconn.Example)
	}
	if scheme, _, _ := strings.Cut(raw, "://"); strings.Contains(scheme, "{") {
		return nil // the whole URL comes from a placeholder: checked once resolved
	}
	if err := redisconn.Check(raw); err != nil {
		return fmt.Errorf("storage gpugate_redis: %w", err)
	}
	if redisconn.HasLiteralSecret(raw) {
		return errLiteralPassword
	}
	return nil
}

var errLiteralPassword = fmt.Errorf("storage gpugate_redis: url carries a literal password; write url {env.REDIS_URL} or url redis://:{env.REDIS_PASSWORD}@host:6379/0")

func durationOr(d caddy.Duration, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return time.Duration(d)
}

// Interface guards.
var (
	_ caddy.Provisioner      = (*RedisStorage)(nil)
	_ caddy.Validator        = (*RedisStorage)(nil)
	_ caddy.CleanerUpper     = (*RedisStorage)(nil)
	_ caddy.StorageConverter = (*RedisStorage)(nil)
)
