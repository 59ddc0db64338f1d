package usageplan

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// LimitState is the state of one key's limits under one of its plans right
// now, as the store holds it (shared by every instance on a Redis store).
type LimitState struct {
	// Plan is the plan's name.
	Plan string `json:"plan"`
	// Throttles are the plan's buckets: its default throttle first (Bucket
	// ""), then its per method+path overrides in their order. A plan with
	// no throttle at all has none.
	Throttles []ThrottleState `json:"throttles,omitempty"`
	// Concurrency is the plan's cap (0: none); InFlight the slots the key
	// holds now (requests in flight, and slots kept after a disconnect).
	Concurrency int64 `json:"concurrency,omitempty"`
	InFlight    int64 `json:"in_flight"`
}

// ThrottleState is one token bucket of a key.
type ThrottleState struct {
	// Bucket is "" for the plan's default throttle, or "<METHOD> <path>"
	// of an override.
	Bucket string `json:"bucket"`
	store.Throttle
	// Available is the number of requests the bucket admits now; FullIn
	// the time until it is full again.
	Available int64         `json:"available"`
	FullIn    time.Duration `json:"full_in"`
}

// errNoLimitState is the answer of a store that cannot report its state.
var errNoLimitState = errors.New("usage plans store: this store does not report its limiter state")

// LimitStates returns the current throttle and concurrency state of key
// id under each of its plans (in the key's order; plans no longer declared
// are skipped).
func (a *App) LimitStates(ctx context.Context, id string) ([]LimitState, error) {
	kv, err := a.Key(ctx, id)
	if err != nil {
		return nil, err
	}
	st := a.st()
	reader, ok := st.(store.LimitReader)
	if !ok {
		if _, notOpen := st.(notReady); notOpen {
			return nil, errStoreNotReady
		}
		return nil, errNoLimitState
	}
	var out []LimitState
	for _, name := range kv.Plans {
		p, ok := a.plans[name]
		if !ok {
			continue
		}
		type bucket struct {
			name     string
			throttle *store.Throttle
		}
		var buckets []bucket
		if p.throttle != nil {
			buckets = append(buckets, bucket{"", p.throttle})
		}
		for _, o := range p.overrides {
			buckets = append(buckets, bucket{o.bucket, o.throttle})
		}
		names := make([]string, len(buckets))
		for i, b := range buckets {
			names[i] = b.name
		}
		raw, err := reader.LimitState(ctx, id, name, names, a.now())
		if err != nil {
			return nil, fmt.Errorf("plan %s: %w", name, err)
		}
		ls := LimitState{Plan: name, Concurrency: p.concurrency, InFlight: raw.InFlight}
		for _, b := range buckets {
			avail, full := b.throttle.Remaining(raw.TATs[b.name], raw.Now)
			ls.Throttles = append(ls.Throttles, ThrottleState{Bucket: b.name, Throttle: *b.throttle, Available: avail, FullIn: full})
		}
		out = append(out, ls)
	}
	return out, nil
}

// Now is the app's clock: the time its decisions and usage days use.
func (a *App) Now() time.Time { return a.now() }

// ErrorStatus maps an error of the app's key and usage methods onto an
// HTTP status and a message for the operator: 400 for a mistake in the
// request, 404 for a key that does not exist, 409 for a clash with existing
// state (a key declared in the configuration), 503 when the store failed.
func ErrorStatus(err error) (status int, message string) {
	switch {
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest, reason(err)
	case errors.Is(err, errConflict):
		return http.StatusConflict, reason(err)
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "no such key"
	default:
		return http.StatusServiceUnavailable, err.Error()
	}
}
