package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/tests/testkit"
)

// RunLimitState checks store.LimitReader on stores from newStore: the
// throttle buckets and concurrency slots a key's decisions left, per
// bucket, plan and key.
func RunLimitState(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	r, ok := s.(store.LimitReader)
	if !ok {
		t.Fatalf("%T does not implement store.LimitReader", s)
	}
	read := func(keyID string, now time.Time) store.LimitState {
		t.Helper()
		st, err := r.LimitState(ctx, keyID, "p", []string{"", "POST /generate"}, now)
		if err != nil {
			t.Fatalf("LimitState: %v", err)
		}
		return st
	}
	th := store.Throttle{Rate: 10, Burst: 3}
	if st := read("k1", Start); len(st.TATs) != 0 || st.InFlight != 0 || !st.Now.Equal(Start) {
		t.Fatalf("fresh key: %+v, want no buckets, no slots, now %s", st, Start)
	}
	req := store.Request{KeyID: "k1", Plan: "p", Throttle: &th, Concurrency: 5, Cost: 1, Now: Start}
	first := decide(t, s, req)
	decide(t, s, req)
	st := read("k1", Start)
	if left, _ := th.Remaining(st.TATs[""], st.Now); left != 1 || st.InFlight != 2 {
		t.Fatalf("after two requests: %d left in the bucket, %d in flight (%+v), want 1 and 2", left, st.InFlight, st)
	}
	if _, ok := st.TATs["POST /generate"]; ok {
		t.Fatalf("an untouched override bucket has a time: %+v", st.TATs)
	}
	override := req
	override.Bucket = "POST /generate"
	override.Concurrency = 0
	decide(t, s, override)
	if st := read("k1", Start); st.InFlight != 2 {
		t.Fatalf("a request without a cap took a slot: %+v", st)
	} else if left, _ := th.Remaining(st.TATs["POST /generate"], st.Now); left != 2 {
		t.Fatalf("override bucket: %d left, want 2", left)
	}
	if st := read("k2", Start); len(st.TATs) != 0 || st.InFlight != 0 {
		t.Fatalf("another key: %+v, want nothing", st)
	}
	if err := s.Release(ctx, first.Lease); err != nil {
		t.Fatal(err)
	}
	// A Redis store sends releases in the background.
	testkit.Eventually(t, 5*time.Second, "the released slot is free", func() bool { return read("k1", Start).InFlight == 1 })
	later := Start.Add(time.Second) // 10 tokens a second: full again
	if left, _ := th.Remaining(read("k1", later).TATs[""], later); left != th.Burst {
		t.Fatalf("after a second: %d left, want the full burst %d", left, th.Burst)
	}
}
