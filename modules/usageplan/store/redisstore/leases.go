package redisstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// leaseSet is the concurrency leases this instance holds, each with the
// time (this instance's clock) by which it expires in Redis unless
// renewed; they are renewed while held so a long request keeps its slot,
// and expire in Redis when the instance dies.
type leaseSet struct {
	mu   sync.Mutex
	held map[store.Lease]time.Time
}

func newLeaseSet() *leaseSet { return &leaseSet{held: map[store.Lease]time.Time{}} }

func (ls *leaseSet) add(l store.Lease, expires time.Time) {
	ls.mu.Lock()
	ls.held[l] = expires
	ls.mu.Unlock()
}

// remove stops tracking l and returns when it expires in Redis.
func (ls *leaseSet) remove(l store.Lease) (time.Time, bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	exp, ok := ls.held[l]
	delete(ls.held, l)
	return exp, ok
}

// renewed moves the expiry of the leases still held.
func (ls *leaseSet) renewed(leases []store.Lease, expires time.Time) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, l := range leases {
		if _, ok := ls.held[l]; ok {
			ls.held[l] = expires
		}
	}
}

func (ls *leaseSet) all() []store.Lease {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	out := make([]store.Lease, 0, len(ls.held))
	for l := range ls.held {
		out = append(out, l)
	}
	return out
}

// renewLoop extends every held lease each LeaseTTL/3 until Close.
func (s *Store) renewLoop() {
	defer s.done.Done()
	tick := time.NewTicker(s.leaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			if err := s.renewLeases(); err != nil {
				s.report(&s.reported.renew, fmt.Errorf("usage plans store: renewing concurrency leases: %w", err))
			}
		}
	}
}

// renewLeases extends the held leases until the Redis server's time plus
// the lease TTL, one script per lease set, in one pipeline (ZADD XX keeps
// a lease that was released meanwhile from coming back).
func (s *Store) renewLeases() error {
	held := s.leases.all()
	if len(held) == 0 {
		return nil
	}
	bySet := map[string][]any{}
	for _, l := range held {
		key := s.leaseKey(l.KeyID, l.Plan)
		bySet[key] = append(bySet[key], l.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.leaseTTL/3)
	defer cancel()
	sentAt := s.now()
	// The script is loaded first: EVALSHA in a pipeline cannot fall back
	// to EVAL.
	if err := s.renew.Load(ctx, s.rdb).Err(); err != nil {
		return err
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for key, ids := range bySet {
			args := append([]any{s.scriptNow(s.now()), s.leaseTTL.Microseconds()}, ids...)
			s.renew.EvalSha(ctx, p, []string{key}, args...)
		}
		return nil
	})
	if err == nil {
		s.leases.renewed(held, sentAt.Add(s.leaseTTL))
	}
	return err
}
