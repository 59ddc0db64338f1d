package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// cleanupTimeout bounds one attempt at sending the waiting releases and
// undos; what fails is tried again after retryInterval.
const cleanupTimeout = 500 * time.Millisecond

// maxPiggyback bounds the releases a decision carries for its lease set.
const maxPiggyback = 64

// sendDelay is how long a queued release or undo waits for the sender: a
// slot another instance waits for is free this much later (this
// instance's next decision on the lease set frees it at once).
const sendDelay = 2 * time.Millisecond

// undoID names the decision an undo is for.
type undoID struct{ keyID, plan, id string }

// undoEntry is a queued undo: what the decision may have charged, and the
// time after which trying is pointless.
type undoEntry struct {
	until  time.Time
	cost   int64
	limit  int64 // -1: no quota
	period string
	offset int64 // µs
}

// cleanupQueue holds the lease releases and decision undos waiting to
// reach Redis, each with the time after which trying is pointless (the
// lease has expired by itself, or the undo's horizon passed). One
// goroutine sends them in pipelines and retries what failed, so a Redis
// pause or restart leaves no slot taken once Redis answers again, and no
// request waits for any of it.
type cleanupQueue struct {
	mu       sync.Mutex
	releases map[string]map[string]pendingRelease // lease set -> lease id -> its state
	undos    map[undoID]undoEntry
	n        int
	wake     chan struct{} // capacity 1
}

// pendingRelease is a queued release: the time after which trying is
// pointless, and whether a decision is carrying it right now (so that
// concurrent decisions on one lease set each carry other releases, and the
// sender leaves it to that decision).
type pendingRelease struct {
	until   time.Time
	claimed bool
}

func newCleanupQueue() *cleanupQueue {
	return &cleanupQueue{releases: map[string]map[string]pendingRelease{}, undos: map[undoID]undoEntry{}, wake: make(chan struct{}, 1)}
}

func (q *cleanupQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// addRelease queues the release of lease id of set; false when the queue
// is full.
func (q *cleanupQueue) addRelease(set, id string, until time.Time) bool {
	q.mu.Lock()
	if q.n >= maxCleanups {
		q.mu.Unlock()
		return false
	}
	ids := q.releases[set]
	if ids == nil {
		ids = map[string]pendingRelease{}
		q.releases[set] = ids
	}
	if _, dup := ids[id]; !dup {
		q.n++
	}
	ids[id] = pendingRelease{until: until}
	q.mu.Unlock()
	q.signal()
	return true
}

// addUndo queues the undo of a decision; false when the queue is full.
func (q *cleanupQueue) addUndo(u undoID, e undoEntry) bool {
	q.mu.Lock()
	if q.n >= maxCleanups {
		q.mu.Unlock()
		return false
	}
	if _, dup := q.undos[u]; !dup {
		q.n++
	}
	q.undos[u] = e
	q.mu.Unlock()
	q.signal()
	return true
}

// claimReleases returns up to maxPiggyback releases waiting for set and
// not carried by another decision, for a decision on that set to carry:
// each release travels once (a release carried by every concurrent
// decision made each of them remove the same members again). The caller
// acks them when the decision succeeded, else unclaims them.
func (q *cleanupQueue) claimReleases(set string) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	ids := q.releases[set]
	if len(ids) == 0 {
		return nil
	}
	var out []string
	for id, r := range ids {
		if len(out) == maxPiggyback {
			break
		}
		if r.claimed {
			continue
		}
		if out == nil {
			out = make([]string, 0, min(len(ids), maxPiggyback))
		}
		r.claimed = true
		ids[id] = r
		out = append(out, id)
	}
	return out
}

// unclaimReleases gives releases a failed decision carried back to the
// sender (the decision may or may not have run; a second removal is
// harmless).
func (q *cleanupQueue) unclaimReleases(set string, ids []string) {
	q.mu.Lock()
	m := q.releases[set]
	for _, id := range ids {
		if r, ok := m[id]; ok {
			r.claimed = false
			m[id] = r
		}
	}
	q.mu.Unlock()
	q.signal()
}

// ackReleases removes releases that reached Redis.
func (q *cleanupQueue) ackReleases(set string, ids []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.releases[set]
	for _, id := range ids {
		if _, ok := m[id]; ok {
			delete(m, id)
			q.n--
		}
	}
	if len(m) == 0 {
		delete(q.releases, set)
	}
}

func (q *cleanupQueue) ackUndo(u undoID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.undos[u]; ok {
		delete(q.undos, u)
		q.n--
	}
}

// snapshot returns what is waiting, after dropping what is past its
// time; expired counts the undos dropped (they may stay charged). The
// releases a decision is carrying are left to it unless claimed is set.
func (q *cleanupQueue) snapshot(now time.Time, claimed bool) (releases map[string][]string, undos map[undoID]undoEntry, expired int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	releases = make(map[string][]string, len(q.releases))
	for set, ids := range q.releases {
		for id, r := range ids {
			if r.claimed && !claimed {
				continue
			}
			if now.After(r.until) {
				delete(ids, id) // the lease has expired in Redis by now
				q.n--
				continue
			}
			releases[set] = append(releases[set], id)
		}
		if len(ids) == 0 {
			delete(q.releases, set)
		}
	}
	undos = make(map[undoID]undoEntry, len(q.undos))
	for u, e := range q.undos {
		if now.After(e.until) {
			delete(q.undos, u)
			q.n--
			expired++
			continue
		}
		undos[u] = e
	}
	return releases, undos, expired
}

// pending is the number of releases and undos waiting.
func (q *cleanupQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Release implements store.Limiter without waiting for Redis: the lease
// stops being renewed at once and its removal is queued. The next
// decision of this instance for the same key and plan carries it (so a
// client's next request never finds its own finished request's slot
// taken), and the sender pipelines the rest, retrying until Redis answers
// or the lease has expired by itself.
func (s *Store) Release(_ context.Context, l store.Lease) error {
	until, ok := s.leases.remove(l)
	if !ok {
		until = s.now().Add(s.leaseTTL)
	}
	if !s.cleanups.addRelease(s.leaseKey(l.KeyID, l.Plan), l.ID, until) {
		return errors.New("usage plans store: too many lease releases waiting for Redis; this lease expires by itself")
	}
	return nil
}

// undoLater queues the undo of the decision id of req (see undo.lua),
// retried until undoHorizon. Beyond maxCleanups waiting, the decision
// stays charged and its lease expires after LeaseTTL.
func (s *Store) undoLater(req store.Request, id string) {
	e := undoEntry{until: s.now().Add(undoHorizon), cost: req.Cost, limit: -1}
	if req.Quota != nil {
		e.limit, e.period, e.offset = req.Quota.Limit, string(req.Quota.Period), req.Quota.Offset.Microseconds()
	}
	if !s.cleanups.addUndo(undoID{req.KeyID, req.Plan, id}, e) {
		s.report(&s.reported.undo, errors.New("usage plans store: too many decisions to undo; a timed-out decision stays charged and its lease expires by itself"))
	}
}

// cleanupLoop sends the queue shortly after something is added
// (sendDelay: the next decisions on a lease set carry most releases, and
// the rest go in one pipeline instead of one wake-up a release), and
// again every retryInterval while something failed, until Close.
func (s *Store) cleanupLoop() {
	defer s.done.Done()
	delay := time.NewTimer(sendDelay)
	delay.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.cleanups.wake:
		}
		delay.Reset(sendDelay)
		select {
		case <-s.stop:
			delay.Stop()
			return
		case <-delay.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		all := s.sendCleanups(ctx)
		cancel()
		if all {
			continue
		}
		select {
		case <-s.stop:
			return
		case <-time.After(retryInterval):
			s.cleanups.signal()
		}
	}
}

// sendCleanups sends every waiting release and undo in one pipeline and
// reports whether nothing is left waiting.
func (s *Store) sendCleanups(ctx context.Context) bool {
	return s.sendCleanupsOf(ctx, false)
}

// sendCleanupsOf is sendCleanups, also sending the releases decisions are
// carrying when claimed is set (at Close).
func (s *Store) sendCleanupsOf(ctx context.Context, claimed bool) bool {
	releases, undos, expired := s.cleanups.snapshot(s.now(), claimed)
	if expired > 0 {
		s.report(&s.reported.undo, fmt.Errorf("usage plans store: %d timed-out decisions could not be undone within %s (they stay charged; their leases expire by themselves)", expired, undoHorizon))
	}
	if len(releases) == 0 && len(undos) == 0 {
		return true
	}
	if len(undos) > 0 && !s.undoLoaded.Load() {
		// EVALSHA in a pipeline cannot fall back to EVAL.
		if err := s.undo.Load(ctx, s.rdb).Err(); err != nil {
			s.report(&s.reported.release, fmt.Errorf("usage plans store: releasing leases and undoing timed-out decisions (retrying): %w", err))
			return false
		}
		s.undoLoaded.Store(true)
	}
	type sent struct {
		cmd  redis.Cmder
		set  string
		ids  []string
		undo undoID
	}
	var cmds []sent
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for set, ids := range releases {
			args := make([]any, len(ids))
			for i, id := range ids {
				args[i] = id
			}
			cmds = append(cmds, sent{cmd: p.ZRem(ctx, set, args...), set: set, ids: ids})
		}
		for u, e := range undos {
			keys, args := s.undoCall(u, e)
			cmds = append(cmds, sent{cmd: s.undo.EvalSha(ctx, p, keys, args...), undo: u})
		}
		return nil
	})
	var firstErr error
	for _, c := range cmds {
		if err := c.cmd.Err(); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			if isNoScript(err) {
				s.undoLoaded.Store(false) // a restarted or promoted server
			}
			continue
		}
		if c.ids != nil {
			s.cleanups.ackReleases(c.set, c.ids)
		} else {
			s.cleanups.ackUndo(c.undo)
		}
	}
	if firstErr != nil {
		s.report(&s.reported.release, fmt.Errorf("usage plans store: releasing leases and undoing timed-out decisions (retrying until they succeed or the leases expire): %w", firstErr))
		return false
	}
	return s.cleanups.pending() == 0
}

// undoCall is the keys and arguments of undo.lua for u.
func (s *Store) undoCall(u undoID, e undoEntry) ([]string, []any) {
	keys := []string{s.markerKey(u.keyID, u.id), s.leaseKey(u.keyID, u.plan), s.planKey(u.keyID, u.plan), s.dayPrefix(u.keyID, u.plan)}
	return keys, []any{u.id, tombstoneTTL.Milliseconds(), e.cost, e.limit, e.period, e.offset, s.leaseTTL.Microseconds(), s.scriptNow(s.now())}
}

func isNoScript(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && len(re.Error()) >= 8 && re.Error()[:8] == "NOSCRIPT"
}

// errorRate remembers when each kind of background error was last
// reported (unix ns), so an outage gives one line a second, not one a
// request.
type errorRate struct{ renew, release, undo atomic.Int64 }

// report passes err to OnError unless the same kind was reported less
// than a second ago.
func (s *Store) report(last *atomic.Int64, err error) {
	now := s.now().UnixNano()
	prev := last.Load()
	if s.onError == nil || now-prev < int64(time.Second) || !last.CompareAndSwap(prev, now) {
		return
	}
	s.onError(err)
}
