// Package embedded is the usage-plan store that needs no other process:
// counters and keys live in memory and, for a file:// store, are written to
// a bbolt file (keys at once, counts in one transaction every
// DefaultFlushInterval: a group commit of all the decisions since the
// last one), so a restart keeps them and a crash loses at most the counts
// of one interval plus the commit in flight.
package embedded

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// DefaultFlushInterval is how often changed counts are written to the
// file: every decision of the interval goes into one bbolt transaction
// (one fsync), so the decision path never waits for the disk.
const DefaultFlushInterval = 40 * time.Millisecond

// pruneInterval is how often old counts are pruned (each prune is a
// bounded batch).
const pruneInterval = time.Second

// retention is how long quota windows and daily use are kept.
const (
	windowRetention = 32 * 24 * time.Hour
	dayRetention    = 400 * 24 * time.Hour
)

// Store is an embedded store. The zero value is not usable; use OpenMemory
// or OpenFile.
type Store struct {
	*counters
	*keyTable
	pods *podTable

	file          *file // nil for a memory store
	now           func() time.Time
	onError       func(error)
	flushInterval time.Duration
	// flushMu orders flushes (the loop's and Close's); lastPrune is when
	// old counts were last pruned.
	flushMu   sync.Mutex
	lastPrune time.Time

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// OpenMemory returns a store that keeps everything in memory only.
func OpenMemory() *Store {
	return &Store{counters: newCounters(), keyTable: newKeyTable(), pods: newPodTable(), now: time.Now}
}

// Options tunes OpenFile.
type Options struct {
	// Now is the clock used for pruning old counts (default time.Now).
	Now func() time.Time
	// OnError receives background flush errors (default: ignored).
	OnError func(error)
	// FlushInterval is how often changed counts are committed to the
	// file (default DefaultFlushInterval).
	FlushInterval time.Duration
}

// OpenFile opens the store backed by the bbolt file at path and starts
// the background flush, which stops on Close.
func OpenFile(path string, opts Options) (*Store, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	s := OpenMemory()
	s.file = f
	if opts.Now != nil {
		s.now = opts.Now
		s.counters.clock = opts.Now
	}
	s.onError = opts.OnError
	s.flushInterval = opts.FlushInterval
	if s.flushInterval <= 0 {
		s.flushInterval = DefaultFlushInterval
	}
	if err := f.load(s.counters, s.keyTable, s.pods); err != nil {
		_ = f.close()
		return nil, err
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.flushLoop()
	return s, nil
}

func (s *Store) flushLoop() {
	defer close(s.done)
	tick := time.NewTicker(s.flushInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			if err := s.Flush(); err != nil && s.onError != nil {
				s.onError(err)
			}
		}
	}
}

// Flush writes changed counts to the file now, and prunes old ones at
// most once per pruneInterval.
func (s *Store) Flush() error {
	if s.file == nil {
		return nil
	}
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	var dropW []windowID
	var dropD []dayID
	if now := s.now(); now.Sub(s.lastPrune) >= pruneInterval {
		s.lastPrune = now
		dropW, dropD = s.prune(now, now.Add(-windowRetention), now.Add(-dayRetention))
		s.pruneExtras(now)
	}
	ws, ds := s.takeDirty()
	xs := s.takeDirtyExtras()
	if err := s.file.writeCounts(ws, ds, dropW, dropD, xs); err != nil {
		s.restoreDirty(ws, ds)
		s.restoreDirtyExtras(xs)
		return err
	}
	return nil
}

// restoreDirty marks counts dirty again after a failed write.
func (s *Store) restoreDirty(ws map[windowID]int64, ds map[dayID]dayRecord) {
	s.counters.mu.Lock()
	defer s.counters.mu.Unlock()
	for id := range ws {
		s.dirtyW[id] = struct{}{}
	}
	for id := range ds {
		s.dirtyD[id] = struct{}{}
	}
}

// CreateKey implements store.Keys.
func (s *Store) CreateKey(_ context.Context, k store.Key) error {
	return s.keyTable.create(k, s.persistKey)
}

// UpdateKey implements store.Keys.
func (s *Store) UpdateKey(_ context.Context, id string, change func(*store.Key)) (store.Key, error) {
	return s.keyTable.update(id, change, s.persistKey)
}

// DeleteKey implements store.Keys.
func (s *Store) DeleteKey(_ context.Context, id string) error {
	return s.keyTable.remove(id, func(id string) error {
		if s.file == nil {
			return nil
		}
		return s.file.deleteKey(id)
	})
}

// RotateKey implements store.Keys.
func (s *Store) RotateKey(_ context.Context, id, newHash string, graceUntil time.Time) (store.Key, error) {
	return s.keyTable.rotate(id, newHash, graceUntil, s.now(), s.persistKey)
}

func (s *Store) persistKey(k store.Key) error {
	if s.file == nil {
		return nil
	}
	return s.file.putKey(k)
}

// Close stops the flush loop, writes pending counts and closes the file.
// It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.file == nil {
			return
		}
		close(s.stop)
		<-s.done
		s.closeErr = errors.Join(s.Flush(), s.file.close())
	})
	return s.closeErr
}
