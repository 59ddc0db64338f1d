// Package redisstore is the usage-plan store shared by several gateway
// instances through Redis (or Valkey / ElastiCache): every admission is one
// round trip running a server-side script (GCRA throttle + quota window +
// concurrency lease), so counts are exact across instances. Concurrent
// decisions of one key, plan and shape share a script call (batch.go), the
// calls under way at the same time share round trips (rueidis's
// auto-pipelining, decider.go), and a finished request's lease release
// rides along with the next decision on its lease set (release.go). A key's last-used time is written at most once
// a minute per key and plan.
package redisstore

import (
	"context"
	_ "embed"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/modules/internal/redisconn"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// Scripts run server-side; go-redis sends EVALSHA and falls back to EVAL
// after a Redis restart flushed the script cache.
// clock.lua holds the functions the others share (Redis time, calendar
// windows, refunds); it is prepended to each.
var (
	//go:embed clock.lua
	clockSource string
	//go:embed decide.lua
	decideSource string
	//go:embed refund.lua
	refundSource string
	//go:embed undo.lua
	undoSource string
	//go:embed renew.lua
	renewSource string
	//go:embed changequota.lua
	changeQuotaSource string
	//go:embed createkey.lua
	createKeySource string
	//go:embed meter.lua
	meterSource string
	//go:embed putrecord.lua
	putRecordSource string
)

// withClock prepends the shared functions to a script.
func withClock(src string) *redis.Script { return redis.NewScript(withClockSource(src)) }

// withClockSource is src after clock.lua, for a client's script object.
func withClockSource(src string) string { return clockSource + "\n" + src }

// Defaults of Options.
const (
	DefaultLeaseTTL = 30 * time.Second
	DefaultKeyCache = 900 * time.Millisecond
	dayTTL          = 400 * 24 * time.Hour

	// undoHorizon is how long the background undo of a decision whose
	// answer was lost (client timeout or cancellation) keeps retrying: an
	// outage shorter than this loses no count and leaves no slot taken.
	undoHorizon = 15 * time.Second
	// maxCleanups bounds the releases and undos waiting to be sent
	// (beyond it, a lost decision stays charged and its lease expires
	// after LeaseTTL).
	maxCleanups = 100000
	// tombstoneTTL is how long an undo's marker refuses a decision that
	// reaches Redis after it.
	tombstoneTTL = time.Minute
	// retryInterval is the pause between two attempts of the releases and
	// undos that failed: a slot is free at most this long (plus a round
	// trip) after Redis answers again.
	retryInterval = 100 * time.Millisecond
	// adminTimeout bounds a Redis call that has no deadline of its own
	// (the admin API's).
	adminTimeout = time.Second
	// startupProbe bounds the check at Open that the URL's TLS and AUTH
	// settings work (a Redis that does not answer in time is not an
	// error).
	startupProbe = time.Second
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
	// (default 900ms, so a key disabled or deleted on one instance is
	// refused by all within a second; negative disables caching).
	KeyCache time.Duration
	// Timeout is store_timeout (default 100ms): the deadline the request
	// path gives its calls; calls without a deadline get at least 1 s.
	Timeout time.Duration
	// Now is this instance's clock (default time.Now), used for the key
	// cache and lease bookkeeping. Decisions, quota windows and lease
	// expiries use the Redis server's clock (TIME), so instance clocks
	// need not agree.
	Now func() time.Time
	// OnError receives background errors (lease renewal, releases and
	// undos that failed; at most one a second of each kind).
	OnError func(error)

	// goRedisDecisions sends decisions through go-redis instead of
	// rueidis (decider.go); for benchmarks.
	goRedisDecisions bool
}

// Store is a Redis-backed store.Store.
type Store struct {
	rdb redis.UniversalClient
	// fast runs the decision script once its client exists (decider.go).
	fast        atomic.Pointer[fastDecider]
	prefix      string
	leaseTTL    time.Duration
	now         func() time.Time
	onError     func(error)
	decide      *redis.Script
	refund      *redis.Script
	changeQuota *redis.Script
	createKey   *redis.Script
	meter       *redis.Script
	putRecord   *redis.Script
	undo        *redis.Script
	renew       *redis.Script
	cache       *keyCache
	leases      *leaseSet
	batches     *batches
	timeout     time.Duration
	// requestTime makes the scripts use Request.Now / QuotaChange.Now
	// (and Now for renewals) instead of Redis TIME: for tests with an
	// injected clock only.
	requestTime bool

	cleanups   *cleanupQueue
	undoLoaded atomic.Bool
	migrated   atomic.Bool
	reported   errorRate

	stop      chan struct{}
	done      sync.WaitGroup
	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the Redis deployment of rawURL (any URL of
// internal/redisconn: a single node, Sentinel or Cluster, with TLS and
// AUTH) and starts the lease renewer and the release sender. It does not
// wait for Redis to be reachable: a gateway starts while Redis is down and
// recovers when it returns. A configuration that cannot work (an
// unreadable ca_file, a server certificate the CA did not sign, a refused
// password) is an error.
func Open(rawURL string, opts Options) (*Store, error) {
	cfg, err := redisconn.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("usage plans store: %w", err)
	}
	ro, err := cfg.UniversalOptions()
	if err != nil {
		return nil, fmt.Errorf("usage plans store: %w", err)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 100 * time.Millisecond
	}
	// Calls on the request path carry a deadline of store_timeout (and the
	// background work its own); these bound the calls without one (the
	// admin API's).
	callTimeout := max(timeout, adminTimeout)
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = callTimeout, callTimeout, callTimeout, callTimeout
	ro.MaxRetries = -1 // a decision must land within the timeout; no retries
	ro.DialerRetries = 1
	ro.ContextTimeoutEnabled = true
	s := &Store{
		rdb:         redis.NewUniversalClient(ro),
		prefix:      opts.Prefix,
		leaseTTL:    opts.LeaseTTL,
		now:         opts.Now,
		onError:     opts.OnError,
		decide:      withClock(decideSource),
		refund:      withClock(refundSource),
		changeQuota: withClock(changeQuotaSource),
		createKey:   redis.NewScript(createKeySource),
		meter:       withClock(meterSource),
		putRecord:   redis.NewScript(putRecordSource),
		undo:        withClock(undoSource),
		renew:       withClock(renewSource),
		leases:      newLeaseSet(),
		batches:     newBatches(),
		timeout:     timeout,
		cleanups:    newCleanupQueue(),
		stop:        make(chan struct{}),
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
	ctx, cancel := context.WithTimeout(context.Background(), startupProbe)
	err = redisconn.StartupError(ctx, s.rdb)
	if err == nil {
		// Best effort: the first decisions then need no EVAL fallback.
		_ = s.decide.Load(ctx, s.rdb).Err()
		_ = s.createKey.Load(ctx, s.rdb).Err()
	}
	cancel()
	if err == nil {
		err = s.startFastDecider(cfg, callTimeout, opts)
	}
	if err != nil {
		_ = s.rdb.Close()
		return nil, fmt.Errorf("usage plans store: %w", err)
	}
	s.done.Add(3)
	go s.renewLoop()
	go s.cleanupLoop()
	go s.migrateLoop()
	return s, nil
}

// CheckURL validates a Redis store URL without connecting or resolving
// placeholders (for config validation); the error never repeats the URL
// or its password.
func CheckURL(rawURL string) error {
	if err := redisconn.Check(rawURL); err != nil {
		return fmt.Errorf("usage plans store: %w", err)
	}
	return nil
}

// Close stops the background work, frees this instance's leases (held
// and released but not yet sent) and closes the connection pool. Safe to
// call more than once.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		s.done.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for _, l := range s.leases.all() {
			s.cleanups.addRelease(s.leaseKey(l.KeyID, l.Plan), l.ID, s.now().Add(s.leaseTTL))
		}
		s.sendCleanupsOf(ctx, true)
		s.closeFastDecider()
		err = s.rdb.Close()
	})
	return err
}

// Redis key names. The key id is a hash tag so one key's counters share a
// Redis Cluster slot (the decision script touches them together).
// planKey is the hash of a key's throttle buckets and quota window under
// a plan (see decide.lua).
func (s *Store) planKey(keyID, plan string) string {
	return s.prefix + "{" + keyID + "}:plan:" + plan
}

// legacyWindowPrefix named quota windows before the plan hash; a decision
// reads the current window from it once after an upgrade.
func (s *Store) legacyWindowPrefix(keyID, plan string) string {
	return s.prefix + "{" + keyID + "}:quota:" + plan + ":"
}
func (s *Store) dayKey(keyID, plan string, day time.Time) string {
	return s.dayPrefix(keyID, plan) + day.Format("20060102")
}
func (s *Store) dayPrefix(keyID, plan string) string {
	return s.prefix + "{" + keyID + "}:day:" + plan + ":"
}
func (s *Store) markerKey(keyID, id string) string {
	return s.prefix + "{" + keyID + "}:decision:" + id
}
func (s *Store) leaseKey(keyID, plan string) string {
	return s.prefix + "{" + keyID + "}:leases:" + plan
}
func (s *Store) lastUsedKey(keyID string) string { return s.prefix + "{" + keyID + "}:lastused" }
func (s *Store) onceKey(keyID, plan, once string) string {
	return s.prefix + "{" + keyID + "}:once:" + plan + ":" + once
}

// Records and an owner's pods are one Redis key each (no multi-key
// operation, so no hash tag is needed).
func (s *Store) recordKey(name string) string { return s.prefix + "record:" + name }
func (s *Store) podsKey(owner string) string  { return s.prefix + "pods:" + owner }

// Key records share one hash tag, {keys}, so that creating a key (record,
// id index and id set in one script) and deleting one stay atomic on a
// Redis Cluster.
func (s *Store) idIndex(id string) string     { return s.prefix + "{keys}:id:" + id }
func (s *Store) keyRecord(hash string) string { return s.prefix + "{keys}:hash:" + hash }
func (s *Store) keySet() string               { return s.prefix + "{keys}:ids" }
