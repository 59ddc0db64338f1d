package redisstore

import (
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/modules/usageplan/store/storetest"
	"github.com/gpugate/gpugate/tests/testkit"
)

func TestRedisStoreLimitState(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	storetest.RunLimitState(t, func(t *testing.T) store.Store {
		s := open(t, r.URL(0), Options{Timeout: time.Second, KeyCache: -1})
		s.requestTime = true // the suite's injected clock, not Redis TIME
		return s
	})
}

// TestRedisLimitStateUsesServerClock: without an injected clock the state
// is read at the Redis server's time, the clock decisions use.
func TestRedisLimitStateUsesServerClock(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	s := open(t, r.URL(0), Options{Timeout: time.Second})
	before := time.Now()
	st, err := s.LimitState(t.Context(), "k1", "p", nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Now.Before(before.Add(-time.Minute)) || st.Now.After(time.Now().Add(time.Minute)) {
		t.Fatalf("state read at %s, want about now (%s)", st.Now, before)
	}
}
