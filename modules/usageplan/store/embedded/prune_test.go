package embedded

import (
	"strconv"
	"testing"
	"time"
)

// TestPruneIsBounded: pruning looks only at old windows and days (through
// the time indexes) and removes at most pruneBatch of each per call, so the
// decision lock is never held for a walk over every record; repeated calls
// remove everything old and nothing else.
func TestPruneIsBounded(t *testing.T) {
	c := newCounters()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	day := func(back int) int64 { return now.AddDate(0, 0, -back).Truncate(24 * time.Hour).Unix() }
	const keys, live, old = 2000, 200, 3*pruneBatch + 17
	for k := range keys {
		id := "key" + strconv.Itoa(k)
		for d := range live {
			c.setDay(dayID{id, "p", day(d)}, dayRecord{Used: 1})
		}
		c.setWindow(windowID{id, "p", day(0)}, 1)
	}
	for i := range old {
		id := "old" + strconv.Itoa(i)
		c.setDay(dayID{id, "p", day(401 + i%50)}, dayRecord{Used: 1})
		c.setWindow(windowID{id, "p", day(33 + i%5)}, 1)
	}
	windowsBefore, daysBefore := now.Add(-windowRetention), now.Add(-dayRetention)
	var droppedW, droppedD int
	for calls := 1; ; calls++ {
		ws, ds := c.prune(now, windowsBefore, daysBefore)
		if len(ws) > pruneBatch || len(ds) > pruneBatch {
			t.Fatalf("one prune removed %d windows and %d days, more than %d", len(ws), len(ds), pruneBatch)
		}
		droppedW += len(ws)
		droppedD += len(ds)
		if len(ws) == 0 && len(ds) == 0 {
			break
		}
		if calls > 10 {
			t.Fatal("pruning does not converge")
		}
	}
	if droppedW != old || droppedD != old || len(c.days) != keys*live || len(c.windows) != keys {
		t.Fatalf("dropped %d windows and %d days (want %d each); kept %d days, %d windows", droppedW, droppedD, old, len(c.days), len(c.windows))
	}
	// With nothing old left, a prune is cheap however many records live
	// (the old prune walked all 400k day records under the lock).
	best := time.Hour
	for range 3 {
		start := time.Now()
		c.prune(now, windowsBefore, daysBefore)
		best = min(best, time.Since(start))
	}
	if best > 5*time.Millisecond {
		t.Fatalf("a prune with %d live records held the decision lock for %v", len(c.days), best)
	}
}
