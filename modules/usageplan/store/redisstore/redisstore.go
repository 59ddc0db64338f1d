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
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

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
)

// withClock prepends the shared functions to a script.
func withClock(src string) *redis.Script { return redis.NewScript(clockSource + "\n" + src) }

// Defaults of Options.
const (
	DefaultLeaseTTL = 30 * time.Second
	DefaultKeyCache = 2 * time.Second
	dayTTL          = 400 * 24 * time.Hour

	// undoTimeout bounds the background undo of a decision whose answer
	// was lost (client timeout or cancellation); it retries until then.
	undoTimeout = 2 * time.Second
	// maxUndos bounds the undos running at once (beyond it, a lost
	// decision stays charged and its lease expires after LeaseTTL).
	maxUndos = 256
	// tombstoneTTL is how long an undo's marker refuses a decision that
	// reaches Redis after it.
	tombstoneTTL = time.Minute
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
	// Now is this instance's clock (default time.Now), used for the key
	// cache. Decisions, quota windows and lease expiries use the Redis
	// server's clock (TIME), so instance clocks need not agree.
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
	undo        *redis.Script
	renew       *redis.Script
	cache       *keyCache
	leases      *leaseSet
	timeout     time.Duration
	// requestTime makes the scripts use Request.Now / QuotaChange.Now
	// (and Now for renewals) instead of Redis TIME: for tests with an
	// injected clock only.
	requestTime bool

	undoMu     sync.Mutex
	undoClosed bool
	undos      sync.WaitGroup
	undoSlots  chan struct{}
	// undoReported is when an undo failure was last reported (unix ns).
	undoReported atomic.Int64

	stop chan struct{}
	done chan struct{}

	releases    *releaser
	releaseDone chan struct{}
	closeOnce   sync.Once
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
		decide:      withClock(decideSource),
		refund:      withClock(refundSource),
		changeQuota: withClock(changeQuotaSource),
		createKey:   redis.NewScript(createKeySource),
		undo:        withClock(undoSource),
		renew:       withClock(renewSource),
		leases:      newLeaseSet(),
		timeout:     timeout,
		undoSlots:   make(chan struct{}, maxUndos),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
		releases:    newReleaser(),
		releaseDone: make(chan struct{}),
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
	go s.releaseLoop()
	return s, nil
}

// CheckURL validates a Redis store URL without connecting (for config
// validation); the error never repeats the URL or its password.
func CheckURL(rawURL string) error {
	if _, err := redis.ParseURL(rawURL); err != nil {
		return fmt.Errorf("usage plans store: invalid Redis URL (write redis://[:password@]host:port/db): %w", redact(err))
	}
	return nil
}

// redact keeps the URL (and its password) out of URL parse errors.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Close stops the lease renewer, releases this instance's leases and
// closes the connection pool. Safe to call more than once.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		<-s.releaseDone
		s.undoMu.Lock()
		s.undoClosed = true
		s.undoMu.Unlock()
		s.undos.Wait()
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
	return fmt.Sprintf("%s%d", s.windowPrefix(keyID, plan), start.Unix())
}
func (s *Store) windowPrefix(keyID, plan string) string {
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
func (s *Store) idIndex(id string) string     { return s.prefix + "key:" + id }
func (s *Store) keyRecord(hash string) string { return s.prefix + "keyhash:" + hash }
func (s *Store) keySet() string               { return s.prefix + "keys" }
