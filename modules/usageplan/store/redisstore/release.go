package redisstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// releaseTimeout bounds one batch of lease releases; a lease whose release
// fails expires by itself after LeaseTTL.
const releaseTimeout = time.Second

// releaseBatch is the releases waiting for one pipeline, and the channel
// closed (after err is set) when that pipeline has run.
type releaseBatch struct {
	leases []store.Lease
	done   chan struct{}
	err    error
}

// releaser batches lease releases: every Release joins the batch being
// filled and waits for it; one goroutine sends each batch as a single
// pipeline of ZREMs. Under load many requests share one round trip (while
// a batch is in flight the next one fills), and a Release still returns
// only once its slot is free in Redis, so a client's next request cannot
// be refused for a slot its previous request held.
type releaser struct {
	mu      sync.Mutex
	filling *releaseBatch
	wake    chan struct{} // capacity 1: a batch is waiting
}

func newReleaser() *releaser {
	return &releaser{filling: &releaseBatch{done: make(chan struct{})}, wake: make(chan struct{}, 1)}
}

// add puts l into the batch being filled and returns that batch.
func (r *releaser) add(l store.Lease) *releaseBatch {
	r.mu.Lock()
	b := r.filling
	b.leases = append(b.leases, l)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return b
}

// take hands over the filled batch (nil when empty) and starts a new one.
func (r *releaser) take() *releaseBatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.filling
	if len(b.leases) == 0 {
		return nil
	}
	r.filling = &releaseBatch{done: make(chan struct{})}
	return b
}

// Release implements store.Limiter: the lease stops being renewed at once
// and is removed in Redis with the next batch, which Release waits for
// (or for ctx).
func (s *Store) Release(ctx context.Context, l store.Lease) error {
	s.leases.remove(l)
	b := s.releases.add(l)
	select {
	case <-b.done:
		if b.err != nil {
			return fmt.Errorf("usage plans store: releasing a lease (it expires by itself): %w", b.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("usage plans store: releasing a lease (it expires by itself): %w", ctx.Err())
	case <-s.stop:
		return nil // Close sends what is left
	}
}

// releaseLoop sends batches until Close, then sends what is left.
func (s *Store) releaseLoop() {
	defer close(s.releaseDone)
	for {
		select {
		case <-s.releases.wake:
			s.sendReleases()
		case <-s.stop:
			s.sendReleases()
			return
		}
	}
}

// sendReleases sends the filled batch as one pipeline: one ZREM per lease
// set, with every lease id of that set.
func (s *Store) sendReleases() {
	b := s.releases.take()
	if b == nil {
		return
	}
	bySet := make(map[string][]any, 1)
	for _, l := range b.leases {
		key := s.leaseKey(l.KeyID, l.Plan)
		bySet[key] = append(bySet[key], l.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	_, b.err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for key, ids := range bySet {
			p.ZRem(ctx, key, ids...)
		}
		return nil
	})
	close(b.done)
}
