package usageplan

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// TestLimitStatesShowBucketsAndSlots: what a key's requests left in its
// throttle buckets (default and override) and the slot a request in
// flight holds.
func TestLimitStatesShowBucketsAndSlots(t *testing.T) {
	plans := map[string]*Plan{"basic": {
		Throttle:          &store.Throttle{Rate: 1, Burst: 3},
		ThrottleOverrides: []ThrottleOverride{{Method: "POST", Path: "/generate", Throttle: store.Throttle{Rate: 0.5, Burst: 2}}},
		Quota:             &QuotaConfig{Limit: 100, Period: store.Day},
		Concurrency:       4,
	}}
	f := newFixture(t, plans)
	h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}})
	ctx := context.Background()

	states, err := f.app.LimitStates(ctx, f.keyID)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || len(states[0].Throttles) != 2 || states[0].Throttles[0].Available != 3 ||
		states[0].Throttles[1].Bucket != "POST /generate" || states[0].Throttles[1].Available != 2 ||
		states[0].Concurrency != 4 || states[0].InFlight != 0 {
		t.Fatalf("an unused key: %+v", states)
	}

	do(t, h, get("/", f.key), nil)
	var inFlight LimitState
	post := httptest.NewRequest(http.MethodPost, "/generate", nil)
	post.Header.Set("X-Api-Key", f.key)
	do(t, h, post, func(w http.ResponseWriter, r *http.Request) error {
		s, err := f.app.LimitStates(r.Context(), f.keyID)
		if err != nil {
			return err
		}
		inFlight = s[0]
		w.WriteHeader(http.StatusOK)
		return nil
	})
	if inFlight.InFlight != 1 {
		t.Fatalf("during a request: %d slots held, want 1", inFlight.InFlight)
	}
	def, gen := inFlight.Throttles[0], inFlight.Throttles[1]
	if def.Available != 2 || def.FullIn != time.Second || gen.Available != 1 || gen.FullIn != 2*time.Second {
		t.Fatalf("buckets after one GET and one POST /generate: %+v %+v", def, gen)
	}
	after, _ := f.app.LimitStates(ctx, f.keyID)
	if after[0].InFlight != 0 {
		t.Fatalf("after the response: %d slots held, want 0", after[0].InFlight)
	}
	f.clock.Advance(2 * time.Second)
	refilled, _ := f.app.LimitStates(ctx, f.keyID)
	if refilled[0].Throttles[0].Available != 3 || refilled[0].Throttles[1].Available != 2 {
		t.Fatalf("two seconds later: %+v, want both buckets full", refilled[0].Throttles)
	}
	if !f.app.Now().Equal(noon.Add(2 * time.Second)) {
		t.Fatalf("Now() = %s, want the app's clock", f.app.Now())
	}
}

func TestLimitStatesOfUnknownKeyAndClosedStore(t *testing.T) {
	f := newFixture(t, basicPlans())
	if _, err := f.app.LimitStates(context.Background(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown key: %v, want ErrNotFound", err)
	}
	if status, msg := ErrorStatus(store.ErrNotFound); status != http.StatusNotFound || msg != "no such key" {
		t.Fatalf("ErrorStatus(not found) = %d %q", status, msg)
	}
	if err := f.app.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.LimitStates(context.Background(), "static-x"); err == nil {
		t.Fatal("a closed store answered")
	}
}

func TestErrorStatusOfAppErrors(t *testing.T) {
	f := newFixture(t, basicPlans())
	_, err := f.app.CreateKey(context.Background(), NewKey{Name: "x", Plans: []string{"gold"}})
	if status, msg := ErrorStatus(err); status != http.StatusBadRequest || msg != `unknown plan "gold" (declared: basic, pro)` {
		t.Fatalf("unknown plan: %d %q", status, msg)
	}
	if status, _ := ErrorStatus(errors.New("redis: i/o timeout")); status != http.StatusServiceUnavailable {
		t.Fatalf("store failure: %d, want 503", status)
	}
}
