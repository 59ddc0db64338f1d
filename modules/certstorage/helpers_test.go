package certstorage

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gpugate/gpugate/tests/testkit"
)

// sharedRedis starts one redis-server for a test and returns a client of it.
func sharedRedis(t *testing.T) (*testkit.Redis, redis.UniversalClient) {
	t.Helper()
	r := testkit.StartRedis(t, testkit.RedisOptions{Password: "certs-pw"})
	rdb, err := newClient(r.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return r, rdb
}

// testStorage is a storage on rdb under prefix, with a short lock TTL and
// poll so lock tests run in seconds; its log lines are kept for asserts.
func testStorage(t *testing.T, rdb redis.UniversalClient, prefix string, lockTTL time.Duration) (*redisStorage, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	m, err := registerMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &redisStorage{
		rdb:     rdb,
		keys:    newKeyspace(prefix),
		locks:   newLockTable(),
		timeout: 2 * time.Second,
		lockTTL: lockTTL,
		poll:    20 * time.Millisecond,
		name:    prefix,
		logger:  zap.New(core),
		metrics: m,
	}
	t.Cleanup(func() {
		// Stop renewals a test left running (a "killed" holder).
		for key, h := range s.locks.takeAll() {
			_ = unlockScript.Run(context.Background(), rdb, []string{key}, h.token).Err()
		}
	})
	return s, logs
}

// counterValue reads a counter.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
