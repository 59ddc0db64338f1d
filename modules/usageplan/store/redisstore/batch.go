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
	maxInFlight = 2
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
// maxInFlight round trips under way, none with a decision of its shape,
// is sent at once by its caller, so nothing waits at low load; the ones
// arriving otherwise queue and go together when one returns (a busy key's
// decisions thus wait for its call under way and share the next). Each waits no longer than its own context;
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
	// shapes counts the round trips under way with decisions of a shape.
	shapes map[decisionShape]int
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
		r = &route{shapes: map[decisionShape]int{}}
		b.routes[name] = r
	}
	if r.inFlight < maxInFlight && r.shapes[sh] == 0 {
		r.inFlight++
		r.mark([]decisionShape{sh})
		b.mu.Unlock()
		sentAt := s.now()
		out, err := s.runDecide(ctx, sh, nil, []string{id})
		b.returned(s, name, []decisionShape{sh})
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

// returned ends a round trip of route name that carried decisions of
// shapes: its slot goes to a sender of the decisions queued meanwhile, if
// any.
func (b *batches) returned(s *Store, name string, shapes []decisionShape) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.routes[name]
	r.unmark(shapes)
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
		shapes := shapesOf(taken)
		r.mark(shapes)
		b.mu.Unlock()
		b.send(s, taken)
		b.mu.Lock()
		r.unmark(shapes)
		b.mu.Unlock()
	}
}

// mark and unmark count a round trip carrying decisions of shapes in and
// out. Call with b.mu held.
func (r *route) mark(shapes []decisionShape) {
	for _, sh := range shapes {
		r.shapes[sh]++
	}
}

func (r *route) unmark(shapes []decisionShape) {
	for _, sh := range shapes {
		if r.shapes[sh]--; r.shapes[sh] == 0 {
			delete(r.shapes, sh)
		}
	}
}

// shapesOf lists the distinct shapes of ws.
func shapesOf(ws []*waiting) []decisionShape {
	var out []decisionShape
	seen := make(map[decisionShape]bool, len(ws))
	for _, w := range ws {
		if !seen[w.sh] {
			seen[w.sh] = true
			out = append(out, w.sh)
		}
	}
	return out
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
