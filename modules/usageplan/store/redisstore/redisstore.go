// Package redisstore is the usage-plan store shared by several gateway
// instances through Redis (or Valkey / ElastiCache): every admission is one
// round trip running a server-side script (GCRA throttle + quota window +
// concurrency lease), so counts are exact across instances.
package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// Scripts run server-side; go-redis sends EVALSHA and falls back to EVAL
// after a Redis restart flushed the script cache.
var (
	//go:embed decide.lua
	decideSource string
	//go:embed refund.lua
	refundSource string
	//go:embed changequota.lua
	changeQuotaSource string
	//go:embed createkey.lua
	createKeySource string
)

// Defaults of Options.
const (
	DefaultLeaseTTL = 30 * time.Second
	DefaultKeyCache = 2 * time.Second
	dayTTL          = 400 * 24 * time.Hour
)

// Options tunes Open.
type Options struct {
	// Prefix starts every Redis key (default "gpugate:usage:").
	Prefix string
	// LeaseTTL is how long a concurrency lease lives without renewal; a
	// crashed gateway's leases expire after it (default 30s). Live leases
	// are renewed every LeaseTTL/3.
	LeaseTTL time.Duration
	// KeyCache is how long a key lookup is cached in this instance
	// (default 2s; negative disables caching).
	KeyCache time.Duration
	// Timeout bounds each Redis call (dial, read, write), default 100ms.
	Timeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnError receives background errors (lease renewal).
	OnError func(error)
}

// Store is a Redis-backed store.Store.
type Store struct {
	rdb         *redis.Client
	prefix      string
	leaseTTL    time.Duration
	now         func() time.Time
	onError     func(error)
	decide      *redis.Script
	refund      *redis.Script
	changeQuota *redis.Script
	createKey   *redis.Script
	cache       *keyCache
	leases      *leaseSet

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the Redis server of rawURL (redis:// or rediss://, with
// optional password and DB) and starts the lease renewer. It does not wait
// for Redis to be reachable: a gateway starts while Redis is down and
// recovers when it returns.
func Open(rawURL string, opts Options) (*Store, error) {
	ro, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("usage plans store: invalid Redis URL (write redis://[:password@]host:port/db): %w", redact(err))
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 100 * time.Millisecond
	}
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = timeout, timeout, timeout, timeout
	ro.MaxRetries = -1 // a decision must land within the timeout; no retries
	ro.ContextTimeoutEnabled = true
	s := &Store{
		rdb:         redis.NewClient(ro),
		prefix:      opts.Prefix,
		leaseTTL:    opts.LeaseTTL,
		now:         opts.Now,
		onError:     opts.OnError,
		decide:      redis.NewScript(decideSource),
		refund:      redis.NewScript(refundSource),
		changeQuota: redis.NewScript(changeQuotaSource),
		createKey:   redis.NewScript(createKeySource),
		leases:      newLeaseSet(),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	if s.prefix == "" {
		s.prefix = "gpugate:usage:"
	}
	if s.leaseTTL <= 0 {
		s.leaseTTL = DefaultLeaseTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	ttl := opts.KeyCache
	if ttl == 0 {
		ttl = DefaultKeyCache
	}
	s.cache = newKeyCache(ttl, s.now)
	go s.renewLoop()
	return s, nil
}

// redact keeps the URL (and its password) out of URL parse errors.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

// Close stops the lease renewer, releases this instance's leases and
// closes the connection pool. Safe to call more than once.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for _, l := range s.leases.all() {
			_ = s.rdb.ZRem(ctx, s.leaseKey(l.KeyID, l.Plan), l.ID).Err()
		}
		err = s.rdb.Close()
	})
	return err
}

// Redis key names. The key id is a hash tag so one key's counters share a
// Redis Cluster slot (the decision script touches them together).
func (s *Store) tatKey(keyID, plan, bucket string) string {
	return s.prefix + "{" + keyID + "}:tat:" + plan + ":" + bucket
}
func (s *Store) windowKey(keyID, plan string, start time.Time) string {
	return fmt.Sprintf("%s{%s}:quota:%s:%d", s.prefix, keyID, plan, start.Unix())
}
func (s *Store) dayKey(keyID, plan string, day time.Time) string {
	return fmt.Sprintf("%s{%s}:day:%s:%s", s.prefix, keyID, plan, day.Format("20060102"))
}
func (s *Store) leaseKey(keyID, plan string) string {
	return s.prefix + "{" + keyID + "}:leases:" + plan
}
func (s *Store) idIndex(id string) string     { return s.prefix + "key:" + id }
func (s *Store) keyRecord(hash string) string { return s.prefix + "keyhash:" + hash }
func (s *Store) keySet() string               { return s.prefix + "keys" }
