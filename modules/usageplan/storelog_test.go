package usageplan

import (
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestStoreErrorLogIsRateLimited(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	clock := testkit.NewClock(noon)
	l := &storeErrorLog{logger: zap.New(core), now: clock.Now}
	for range 100 {
		l.warn("usage plans: store decision failed")
		clock.Advance(time.Millisecond)
	}
	if logs.Len() != 1 {
		t.Fatalf("100 failures in 100ms logged %d lines, want 1", logs.Len())
	}
	clock.Advance(time.Second)
	l.warn("usage plans: store decision failed")
	entries := logs.All()
	if len(entries) != 2 || entries[1].ContextMap()["similar_errors_not_logged"] != int64(99) {
		t.Fatalf("second line: %+v", entries)
	}
}
