package usageplan

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"

	"github.com/caddyserver/caddy/v2"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// stalledStore answers nothing until the caller's deadline, like a paused
// Redis, and records the deadline each call got.
type stalledStore struct {
	store.Store
	deadlines chan time.Time
}

func (s stalledStore) wait(ctx context.Context) error {
	d, _ := ctx.Deadline()
	s.deadlines <- d
	<-ctx.Done()
	return ctx.Err()
}

func (s stalledStore) KeyByHash(ctx context.Context, _ string) (store.Key, error) {
	return store.Key{}, s.wait(ctx)
}

func (s stalledStore) Decide(ctx context.Context, _ store.Request) (store.Decision, error) {
	return store.Decision{}, s.wait(ctx)
}

// TestOneStoreTimeoutPerRequest: the key lookup and the decision of one
// request share a single store_timeout deadline (a stalled Redis makes a
// request wait one timeout, not one per call).
func TestOneStoreTimeoutPerRequest(t *testing.T) {
	t.Setenv("TEST_STATIC_KEY", "static-key-value-0123456789")
	f := &fixture{clock: testkit.NewClock(noon)}
	f.app = newApp(t, &App{Plans: basicPlans(), OnStoreError: "allow", StoreTimeout: caddy.Duration(50 * time.Millisecond),
		Keys: []StaticKey{{Name: "s", Value: "{env.TEST_STATIC_KEY}", Plans: []string{"basic"}}}}, f.clock)
	stalled := stalledStore{Store: f.app.st(), deadlines: make(chan time.Time, 4)}
	f.app.opened.Store(storeBox{stalled})
	f.app.storeKind = "redis" // the kind whose calls get a deadline
	h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}})

	// A stored key: lookup stalls until the deadline, then 503 (a key that
	// cannot be verified is never admitted).
	if res := do(t, h, get("/", "gpg_some-stored-key-value-0123"), nil); res.status != http.StatusServiceUnavailable {
		t.Fatalf("stalled lookup: %d, want 503", res.status)
	}
	<-stalled.deadlines
	// A Caddyfile key needs no lookup: the decision stalls, on_store_error
	// allow admits it uncounted.
	if res := do(t, h, get("/", "static-key-value-0123456789"), nil); res.status != http.StatusOK {
		t.Fatalf("stalled decision, allow: %d", res.status)
	}
	<-stalled.deadlines

	// Both calls of one request see the same deadline.
	both := stalledStore{Store: f.app.st(), deadlines: make(chan time.Time, 4)}
	f.app.opened.Store(storeBox{lookupThenStall{both}})
	start := time.Now()
	if res := do(t, h, get("/", "gpg_some-stored-key-value-0123"), nil); res.status != http.StatusOK {
		t.Fatalf("lookup then stalled decision, allow: %d", res.status)
	}
	lookup, decision := <-both.deadlines, <-both.deadlines
	if !lookup.Equal(decision) || lookup.Sub(start) > 60*time.Millisecond {
		t.Fatalf("lookup deadline %v, decision deadline %v: want one deadline, store_timeout after the start", lookup.Sub(start), decision.Sub(start))
	}
}

// lookupThenStall finds every key at once (recording its deadline) and
// stalls decisions.
type lookupThenStall struct{ stalledStore }

func (s lookupThenStall) KeyByHash(ctx context.Context, hash string) (store.Key, error) {
	d, _ := ctx.Deadline()
	s.deadlines <- d
	return store.Key{ID: "k1", Name: "stored", Hash: hash, Enabled: true, Plans: []string{"basic"}}, nil
}
