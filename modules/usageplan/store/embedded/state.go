package embedded

import (
	"context"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

var _ store.LimitReader = (*Store)(nil)

// LimitState implements store.LimitReader from memory.
func (c *counters) LimitState(_ context.Context, keyID, plan string, buckets []string, now time.Time) (store.LimitState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := store.LimitState{Now: now, TATs: make(map[string]time.Time, len(buckets)),
		InFlight: c.inflight[leaseID{keyID, plan}]}
	for _, b := range buckets {
		if tat, ok := c.tats[bucketID{keyID, plan, b}]; ok {
			st.TATs[b] = tat
		}
	}
	return st, nil
}
