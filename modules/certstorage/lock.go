package certstorage

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Lock defaults.
const (
	// DefaultLockTTL is how long a lock outlives its holder: a holder that
	// dies (kill -9, power loss, partition) stops renewing it, and it
	// expires this long after the last renewal. The holder renews it every
	// third of it.
	DefaultLockTTL = 30 * time.Second
	// lockPoll is how often a waiting Lock tries again (FileStorage's
	// interval).
	lockPoll = time.Second
)

// Lock takes the named lock, waiting (polling) while another holder has
// it, until ctx ends. The lock is a Redis key with an expiry that this
// process renews while it holds the lock, so a holder that dies frees it
// after the lock TTL.
func (s *redisStorage) Lock(ctx context.Context, name string) error {
	for {
		ok, err := s.TryLock(ctx, name)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for lock %q: %w", s, name, ctx.Err())
		case <-time.After(s.poll):
		}
	}
}

// TryLock takes the named lock if nobody holds it, without waiting.
func (s *redisStorage) TryLock(ctx context.Context, name string) (bool, error) {
	key := s.keys.lock(name)
	token := rand.Text() // only its holder can renew or release a lock
	callCtx, cancel := s.call(ctx)
	defer cancel()
	ok, err := s.rdb.SetNX(callCtx, key, token, s.lockTTL).Result()
	if err != nil {
		return false, s.failed("lock", name, err)
	}
	if !ok {
		return false, nil
	}
	s.locks.add(key, s.startRenewal(name, key, token))
	return true, nil
}

// Unlock releases the named lock, if this process still holds it. It is
// an error when the lock expired meanwhile (it was not renewed for a whole
// lock TTL, so another process may hold it now).
func (s *redisStorage) Unlock(ctx context.Context, name string) error {
	key := s.keys.lock(name)
	held := s.locks.remove(key)
	if held == nil {
		return fmt.Errorf("%s: unlock %q: not locked by this process", s, name)
	}
	held.stop()
	ctx, cancel := s.call(context.WithoutCancel(ctx))
	defer cancel()
	n, err := unlockScript.Run(ctx, s.rdb, []string{key}, held.token).Int()
	if err != nil {
		return s.failed("unlock", name, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: unlock %q: the lock had expired (not renewed for %s)", s, name, s.lockTTL)
	}
	return nil
}

// heldLock is a lock this process holds, and the goroutine renewing it.
type heldLock struct {
	token string
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// stop ends the renewal and waits for it.
func (h *heldLock) stop() {
	h.once.Do(func() { close(h.quit) })
	<-h.done
}

// startRenewal renews the lock every third of the TTL until stopped. A
// lock whose renewal finds it gone (or that could not be renewed for a
// whole TTL) is reported lost once.
func (s *redisStorage) startRenewal(name, key, token string) *heldLock {
	h := &heldLock{token: token, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		every := s.lockTTL / 3
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		renewed := time.Now()
		for {
			select {
			case <-h.quit:
				return
			case <-ticker.C:
			}
			ctx, cancel := s.call(context.Background())
			n, err := renewScript.Run(ctx, s.rdb, []string{key}, token, s.lockTTL.Milliseconds()).Int()
			cancel()
			switch {
			case err == nil && n == 1:
				renewed = time.Now()
				continue
			case err != nil && time.Since(renewed) < s.lockTTL:
				s.metrics.errors.WithLabelValues("renew").Inc()
				s.logger.Warn("cannot renew lock; retrying", zap.String("lock", name), zap.Error(err))
				continue
			}
			s.metrics.locksLost.Inc()
			s.logger.Error("lost lock: it expired before this process released it; another process may hold it now",
				zap.String("lock", name), zap.Duration("lock_ttl", s.lockTTL), zap.Error(err))
			return
		}
	}()
	return h
}

// lockTable holds the locks this process holds, by Redis key. It is shared
// by every storage on the same Redis client, so a lock taken before a
// config reload is released (and renewed) after it.
type lockTable struct {
	mu    sync.Mutex
	locks map[string]*heldLock
}

func newLockTable() *lockTable { return &lockTable{locks: make(map[string]*heldLock)} }

func (t *lockTable) add(key string, h *heldLock) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.locks[key]; old != nil {
		// Only after its expiry can the same lock be taken again while
		// recorded; the old renewal has nothing left to renew.
		go old.stop()
	}
	t.locks[key] = h
}

func (t *lockTable) remove(key string) *heldLock {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.locks[key]
	delete(t.locks, key)
	return h
}

// takeAll stops every renewal and returns the locks, by Redis key, for a
// last release before the client closes.
func (t *lockTable) takeAll() map[string]*heldLock {
	t.mu.Lock()
	held := t.locks
	t.locks = make(map[string]*heldLock)
	t.mu.Unlock()
	for _, h := range held {
		h.stop()
	}
	return held
}
