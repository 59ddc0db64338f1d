package redisstore

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

//go:embed state.lua
var stateSource string

// stateScript reads the limiter state in one round trip (state.lua).
var stateScript = withClock(stateSource)

var _ store.LimitReader = (*Store)(nil)

// LimitState implements store.LimitReader in one round trip, with the
// Redis server's clock (the one decisions use).
func (s *Store) LimitState(ctx context.Context, keyID, plan string, buckets []string, now time.Time) (store.LimitState, error) {
	args := make([]any, 0, 1+len(buckets))
	args = append(args, s.scriptNow(now))
	for _, b := range buckets {
		args = append(args, b)
	}
	res, err := stateScript.Run(ctx, s.rdb, []string{s.planKey(keyID, plan), s.leaseKey(keyID, plan)}, args...).Slice()
	if err != nil {
		return store.LimitState{}, fmt.Errorf("usage plans store: redis limit state: %w", err)
	}
	if len(res) != 2+len(buckets) {
		return store.LimitState{}, fmt.Errorf("usage plans store: unexpected limit state reply %v", res)
	}
	num := func(v any) int64 {
		switch v := v.(type) {
		case int64:
			return v
		case string:
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
		return 0
	}
	st := store.LimitState{Now: time.UnixMicro(num(res[0])).UTC(), InFlight: num(res[1]),
		TATs: make(map[string]time.Time, len(buckets))}
	for i, b := range buckets {
		if tat := num(res[2+i]); tat > 0 {
			st.TATs[b] = time.UnixMicro(tat).UTC()
		}
	}
	return st, nil
}
