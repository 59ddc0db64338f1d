package redisstore

import (
	"context"
	"fmt"
	"sync"
	"time"
)

const (
	// maxBatch bounds the decisions one script call makes.
	maxBatch = 64
	// maxPipeline bounds the decisions one round trip carries.
	maxPipeline = 256
	// maxInFlight is the round trips of one route under way at once: one
	// being read by Redis while the next is prepared.
	maxInFlight = 1
)

// batches lets concurrent decisions share round trips, which is most of
// what a decision costs Redis and the gateway (a system call or two each
// way per round trip). Decisions of one shape (one key, plan, bucket,
// limits and cost: under load, the same client's requests) share a script
// call, which reads and writes each hash once for all of them; the calls
// of different shapes waiting at the same time go in one pipeline.
//
// Decisions go by route: all of them for a single node or a Sentinel
// primary; per API key for Redis Cluster (a key's hashes share its hash
// tag, so one slot and node), so that a failing shard never delays the
// decisions of the others. A decision whose route has fewer than
// maxInFlight round trips under way is sent at once by its caller, so
// nothing waits at low load; the ones arriving otherwise queue and go
// together when one returns. Each waits no longer than its own context;
// one that gave up is not sent (its undo, queued by Decide, leaves a
// tombstone).
type batches struct {
	mu     sync.Mutex
	routes map[string]*route
	// byKey gives each API key a route of its own (Redis Cluster).
	byKey bool
}

// route is the round trips under way on one route and the decisions
// waiting for one to return.
type route struct {
	inFlight int
	queue    []*waiting
}

// waiting is a queued decision; done receives its result once.
type waiting struct {
	ctx  context.Context
	sh   decisionShape
	id   string
	done chan batchResult
}

type batchResult struct {
	res    []int64
	sentAt time.Time
	err    error
}

func newBatches(byKey bool) *batches {
	return &batches{routes: map[string]*route{}, byKey: byKey}
}

func (b *batches) routeOf(sh decisionShape) string {
	if b.byKey {
		return sh.keyID
	}
	return ""
}

// decide makes the decision id of shape sh: at once when its route has a
// round trip to spare, else with the next one.
func (b *batches) decide(ctx context.Context, s *Store, sh decisionShape, id string) ([]int64, time.Time, error) {
	name := b.routeOf(sh)
	b.mu.Lock()
	r := b.routes[name]
	if r == nil {
		r = &route{}
		b.routes[name] = r
	}
	if r.inFlight < maxInFlight {
		r.inFlight++
		b.mu.Unlock()
		sentAt := s.now()
		out, err := s.runDecide(ctx, sh, nil, []string{id})
		b.returned(s, name)
		if err != nil {
			return nil, sentAt, err
		}
		return out[0], sentAt, nil
	}
	w := &waiting{ctx: ctx, sh: sh, id: id, done: make(chan batchResult, 1)}
	r.queue = append(r.queue, w)
	b.mu.Unlock()
	select {
	case res := <-w.done:
		return res.res, res.sentAt, res.err
	case <-ctx.Done():
		return nil, time.Time{}, fmt.Errorf("usage plans store: redis decision: %w", ctx.Err())
	}
}

// returned ends a round trip of route name: its slot goes to a sender of
// the decisions queued meanwhile, if any.
func (b *batches) returned(s *Store, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.routes[name]
	if len(r.queue) > 0 {
		go b.drain(s, name)
		return
	}
	r.inFlight--
	if r.inFlight == 0 {
		delete(b.routes, name)
	}
}

// drain sends the decisions queued on route name, up to maxPipeline per
// round trip, until none are waiting; it holds one of the route's slots.
func (b *batches) drain(s *Store, name string) {
	for {
		b.mu.Lock()
		r := b.routes[name]
		n := min(len(r.queue), maxPipeline)
		if n == 0 {
			r.inFlight--
			if r.inFlight == 0 {
				delete(b.routes, name)
			}
			b.mu.Unlock()
			return
		}
		taken := make([]*waiting, n)
		copy(taken, r.queue)
		r.queue = append(r.queue[:0], r.queue[n:]...)
		b.mu.Unlock()
		b.send(s, taken)
	}
}

// send makes the decisions ws in one round trip, one script call per
// shape (and per maxBatch decisions), and hands each its result.
func (b *batches) send(s *Store, ws []*waiting) {
	var calls []*decideCall
	var groups [][]*waiting
	byShape := map[decisionShape]int{}
	var deadline time.Time
	for _, w := range ws {
		if w.ctx.Err() != nil {
			continue
		}
		if d, ok := w.ctx.Deadline(); !ok {
			deadline = time.Now().Add(max(s.timeout, adminTimeout))
		} else if d.After(deadline) {
			deadline = d
		}
		i, ok := byShape[w.sh]
		if !ok || len(groups[i]) == maxBatch {
			i = len(groups)
			byShape[w.sh] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], w)
	}
	if len(groups) == 0 {
		return
	}
	for _, g := range groups {
		ids := make([]string, len(g))
		for i, w := range g {
			ids[i] = w.id
		}
		calls = append(calls, s.newDecideCall(g[0].sh, nil, ids))
	}
	// The round trip outlives any one waiter's cancellation (the others
	// still want it) but not the latest deadline among them.
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	sentAt := s.now()
	outs, errs := s.runDecideCalls(ctx, calls)
	cancel()
	for i, g := range groups {
		for j, w := range g {
			res := batchResult{sentAt: sentAt, err: errs[i]}
			if errs[i] == nil {
				res.res = outs[i][j]
			}
			w.done <- res
		}
	}
}
