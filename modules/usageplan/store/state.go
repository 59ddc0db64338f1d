package store

import (
	"context"
	"time"
)

// LimitState is what a store holds right now for one key under one plan:
// the throttle buckets and the concurrency slots. Quota use is read with
// Limiter.Usage.
type LimitState struct {
	// Now is the time the state was read at: the caller's for the
	// embedded store, the Redis server's for Redis (its decisions use that
	// clock too).
	Now time.Time
	// TATs are the theoretical arrival times of the buckets asked for
	// (Throttle.Remaining turns one into the requests allowed now); a
	// bucket that is absent, or whose time has passed, is full.
	TATs map[string]time.Time
	// InFlight is the number of concurrency slots held (requests in flight
	// plus slots kept after a disconnect), over every gateway instance
	// sharing the store.
	InFlight int64
}

// LimitReader is implemented by the stores that can report their current
// limiter state (both shipped stores do): the operator console reads it.
// It is a separate interface so that a Store needs nothing more to admit
// requests.
type LimitReader interface {
	// LimitState reads the throttle buckets named (Request.Bucket names:
	// "" for the plan's default) and the concurrency slots of keyID under
	// plan. now is the caller's clock.
	LimitState(ctx context.Context, keyID, plan string, buckets []string, now time.Time) (LimitState, error)
}
