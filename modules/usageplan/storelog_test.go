package usageplan

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestStoreErrorLogIsRateLimited(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	clock := newClock(noon)
	l := &storeErrorLog{logger: zap.New(core), now: clock.now}
	for range 100 {
		l.warn("usage plans: store decision failed")
		clock.add(time.Millisecond)
	}
	if logs.Len() != 1 {
		t.Fatalf("100 failures in 100ms logged %d lines, want 1", logs.Len())
	}
	clock.add(time.Second)
	l.warn("usage plans: store decision failed")
	entries := logs.All()
	if len(entries) != 2 || entries[1].ContextMap()["similar_errors_not_logged"] != int64(99) {
		t.Fatalf("second line: %+v", entries)
	}
}
