package redisstore

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// maxBatch bounds the decisions one script call makes.
const maxBatch = 64

// batches lets concurrent decisions of one shape (one key, plan, bucket,
// limits and cost: under load, the same client's requests) share a script
// call, which reads and writes each hash once for all of them: Redis's
// cost per decision is then mostly the few lines of Lua of its own checks.
// Calls of different shapes go at once; the client pipelines the ones
// under way at the same time on its connection (see decider.go).
// A decision with nothing of its shape under way is sent at once by its
// caller, so nothing waits at low load; the ones arriving while it is
// under way queue, and go together (up to maxBatch per call) when it
// returns. Each waits no longer than its own context; one that gave up is
// not sent (its undo, queued by Decide, leaves a tombstone).
type batches struct {
	mu    sync.Mutex
	lanes map[decisionShape]*lane
}

// lane is the decisions of one shape: whether a call is under way, and
// the ones waiting for it to return.
type lane struct {
	queue []*waiting
}

// waiting is a queued decision; done receives its result once.
type waiting struct {
	ctx  context.Context
	id   string
	done chan batchResult
}

type batchResult struct {
	res    []int64
	sentAt time.Time
	err    error
}

func newBatches() *batches { return &batches{lanes: map[decisionShape]*lane{}} }

// decide makes the decision id of shape sh: at once when no call of its
// shape is under way, else with the next call.
func (b *batches) decide(ctx context.Context, s *Store, sh decisionShape, id string) ([]int64, time.Time, error) {
	b.mu.Lock()
	l, busy := b.lanes[sh]
	if !busy {
		b.lanes[sh] = &lane{}
		b.mu.Unlock()
		sentAt := s.now()
		out, err := s.runDecide(ctx, sh, nil, []string{id})
		b.next(s, sh)
		if err != nil {
			return nil, sentAt, err
		}
		return out[0], sentAt, nil
	}
	w := &waiting{ctx: ctx, id: id, done: make(chan batchResult, 1)}
	l.queue = append(l.queue, w)
	b.mu.Unlock()
	select {
	case r := <-w.done:
		return r.res, r.sentAt, r.err
	case <-ctx.Done():
		return nil, time.Time{}, fmt.Errorf("usage plans store: redis decision: %w", ctx.Err())
	}
}

// next hands the decisions queued behind a finished call to a sender, or
// ends the lane when none are waiting.
func (b *batches) next(s *Store, sh decisionShape) {
	b.mu.Lock()
	l := b.lanes[sh]
	if len(l.queue) == 0 {
		delete(b.lanes, sh)
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	go b.drain(s, sh)
}

// drain sends the queued decisions of sh, maxBatch per call, until none
// are waiting.
func (b *batches) drain(s *Store, sh decisionShape) {
	for {
		b.mu.Lock()
		l := b.lanes[sh]
		n := min(len(l.queue), maxBatch)
		if n == 0 {
			delete(b.lanes, sh)
			b.mu.Unlock()
			return
		}
		group := make([]*waiting, 0, n)
		for _, w := range l.queue[:n] {
			if w.ctx.Err() == nil {
				group = append(group, w)
			}
		}
		l.queue = append(l.queue[:0], l.queue[n:]...)
		b.mu.Unlock()
		if len(group) == 0 {
			continue
		}
		ids := make([]string, len(group))
		var deadline time.Time
		for i, w := range group {
			ids[i] = w.id
			if d, ok := w.ctx.Deadline(); !ok {
				deadline = time.Now().Add(max(s.timeout, adminTimeout))
			} else if d.After(deadline) {
				deadline = d
			}
		}
		// The call outlives any one waiter's cancellation (the others
		// still want it) but not the latest deadline among them.
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		sentAt := s.now()
		out, err := s.runDecide(ctx, sh, nil, ids)
		cancel()
		for i, w := range group {
			r := batchResult{sentAt: sentAt, err: err}
			if err == nil {
				r.res = out[i]
			}
			w.done <- r
		}
	}
}
