package embedded

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// timed is a value with an expiry (Unix nanoseconds; 0 never expires).
type timed struct {
	Value   string `json:"v"`
	Expires int64  `json:"e,omitempty"`
}

func itoa(n int64) []byte { return strconv.AppendInt(nil, n, 10) }

func (t timed) live(now time.Time) bool { return t.Expires == 0 || now.UnixNano() < t.Expires }

// extras are the state beside the counters: once-marks of metered charges,
// shared records and the keys' last-used times. They are written to the
// file in the group commit, like the counts; guarded by counters.mu.
type extras struct {
	once     map[string]int64 // "<key id>\x00<plan>\x00<once>" -> expiry (Unix ns)
	records  map[string]timed
	lastUsed map[string]int64 // key id -> Unix ns
	dirty    map[string]byte  // name -> kindOnce, kindRecord, kindLastUsed
	// clock is the store's clock (record expiry).
	clock func() time.Time
}

// Kinds of dirty extras (also the file bucket they go to).
const (
	kindOnce byte = iota + 1
	kindRecord
	kindLastUsed
)

func newExtras() extras {
	return extras{once: map[string]int64{}, records: map[string]timed{}, lastUsed: map[string]int64{}, dirty: map[string]byte{},
		clock: time.Now}
}

// touch records that keyID was admitted at now. Call with c.mu held.
func (c *counters) touch(keyID string, now time.Time) {
	c.lastUsed[keyID] = now.UnixNano()
	c.dirty[keyID] = kindLastUsed
}

// ChargeMeters implements store.Meters.
func (c *counters) ChargeMeters(_ context.Context, ch store.MeterCharge) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch.Once != "" {
		name := ch.KeyID + "\x00" + ch.Plan + "\x00" + ch.Once
		if exp, ok := c.once[name]; ok && ch.Now.UnixNano() < exp {
			return false, nil
		}
		ttl := ch.OnceTTL
		if ttl <= 0 {
			ttl = store.DefaultOnceTTL
		}
		c.once[name] = ch.Now.Add(ttl).UnixNano()
		c.dirty[name] = kindOnce
	}
	for _, u := range ch.Units {
		counter := store.MeterCounter(ch.Plan, u.Meter)
		start, _ := u.Window.Window(ch.Now)
		c.count(ch.KeyID, counter, windowID{ch.KeyID, counter, start.Unix()}, u.Window.Limit, u.Units, ch.Now)
	}
	return true, nil
}

// PutRecord implements store.Records.
func (c *counters) PutRecord(_ context.Context, name, value string, ttl time.Duration) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock()
	if r, ok := c.records[name]; ok && r.live(now) {
		return r.Value, false, nil
	}
	r := timed{Value: value}
	if ttl > 0 {
		r.Expires = now.Add(ttl).UnixNano()
	}
	c.records[name] = r
	c.dirty[name] = kindRecord
	return value, true, nil
}

// GetRecord implements store.Records.
func (c *counters) GetRecord(_ context.Context, name string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.records[name]; ok && r.live(c.clock()) {
		return r.Value, nil
	}
	return "", store.ErrNotFound
}

// DeleteRecord implements store.Records.
func (c *counters) DeleteRecord(_ context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.records[name]; ok {
		delete(c.records, name)
		c.dirty[name] = kindRecord
	}
	return nil
}

// LastUsed implements store.KeyActivity.
func (c *counters) LastUsed(_ context.Context, ids []string) (map[string]time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]time.Time, len(ids))
	for _, id := range ids {
		if ns, ok := c.lastUsed[id]; ok {
			out[id] = time.Unix(0, ns).UTC()
		}
	}
	return out, nil
}

// extraWrite is one dirty extra for the file: a value to put, or a delete
// when absent.
type extraWrite struct {
	kind    byte
	value   []byte
	present bool
}

// takeDirtyExtras returns and clears the extras changed since the last
// call.
func (c *counters) takeDirtyExtras() map[string]extraWrite {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.dirty) == 0 {
		return nil
	}
	out := make(map[string]extraWrite, len(c.dirty))
	for name, kind := range c.dirty {
		w := extraWrite{kind: kind}
		switch kind {
		case kindOnce:
			if exp, ok := c.once[name]; ok {
				w.value, w.present = json.RawMessage(itoa(exp)), true
			}
		case kindRecord:
			if r, ok := c.records[name]; ok {
				w.value, _ = json.Marshal(r)
				w.present = true
			}
		case kindLastUsed:
			if ns, ok := c.lastUsed[name]; ok {
				w.value, w.present = json.RawMessage(itoa(ns)), true
			}
		}
		out[name] = w
	}
	clear(c.dirty)
	return out
}

// restoreDirtyExtras marks extras dirty again after a failed write.
func (c *counters) restoreDirtyExtras(ws map[string]extraWrite) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, w := range ws {
		if _, newer := c.dirty[name]; !newer {
			c.dirty[name] = w.kind
		}
	}
}

// pruneExtras forgets expired once-marks and records, inspecting at most
// pruneBatch of each; the names it dropped go to the file as deletes.
func (c *counters) pruneExtras(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := 0
	for name, exp := range c.once {
		if now.UnixNano() >= exp {
			delete(c.once, name)
			c.dirty[name] = kindOnce
		}
		if seen++; seen == pruneBatch {
			break
		}
	}
	seen = 0
	for name, r := range c.records {
		if !r.live(now) {
			delete(c.records, name)
			c.dirty[name] = kindRecord
		}
		if seen++; seen == pruneBatch {
			break
		}
	}
}

// podTable holds each owner's pods for the pod caps; a file store writes
// every change at once (pod operations are rare and a lost one would
// mis-count a cap).
type podTable struct {
	mu     sync.Mutex
	owners map[string][]store.PodEntry
}

func newPodTable() *podTable { return &podTable{owners: map[string][]store.PodEntry{}} }

// change runs fn on owner's live entries and stores the result through
// persist when fn reports a change.
func (t *podTable) change(owner string, now time.Time, persist func(string, []store.PodEntry) error,
	fn func([]store.PodEntry) ([]store.PodEntry, bool)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	entries, changed := fn(store.LivePods(t.owners[owner], now))
	if !changed {
		return nil
	}
	if err := persist(owner, entries); err != nil {
		return err
	}
	if len(entries) == 0 {
		delete(t.owners, owner)
	} else {
		t.owners[owner] = entries
	}
	return nil
}

// ReservePod implements store.Pods.
func (s *Store) ReservePod(_ context.Context, owner string, e store.PodEntry, caps store.PodCaps, now time.Time) (string, error) {
	var exceeded string
	err := s.pods.change(owner, now, s.persistPods, func(entries []store.PodEntry) ([]store.PodEntry, bool) {
		if exceeded = store.CheckPodCaps(entries, e, caps, now); exceeded != "" {
			return nil, false
		}
		return store.WithPod(entries, e, ""), true
	})
	return exceeded, err
}

// PutPod implements store.Pods.
func (s *Store) PutPod(_ context.Context, owner string, e store.PodEntry, drop string) error {
	return s.pods.change(owner, s.now(), s.persistPods, func(entries []store.PodEntry) ([]store.PodEntry, bool) {
		return store.WithPod(entries, e, drop), true
	})
}

// RemovePod implements store.Pods.
func (s *Store) RemovePod(_ context.Context, owner, id string) error {
	return s.pods.change(owner, s.now(), s.persistPods, func(entries []store.PodEntry) ([]store.PodEntry, bool) {
		return store.WithoutPod(entries, id), true
	})
}

// OwnerPods implements store.Pods.
func (s *Store) OwnerPods(_ context.Context, owner string, now time.Time) ([]store.PodEntry, error) {
	s.pods.mu.Lock()
	defer s.pods.mu.Unlock()
	return append([]store.PodEntry(nil), store.LivePods(s.pods.owners[owner], now)...), nil
}

func (s *Store) persistPods(owner string, entries []store.PodEntry) error {
	if s.file == nil {
		return nil
	}
	return s.file.putPods(owner, entries)
}
