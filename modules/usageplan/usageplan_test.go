package usageplan

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"

	"github.com/caddyserver/caddy/v2"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/modules/usageplan/store/embedded"
)

func provisionApp(app *App) error {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	err := app.Provision(ctx)
	if err == nil {
		err = app.Start()
	}
	if err != nil {
		_ = app.Cleanup() // must be safe after a failed Provision
	}
	return err
}

// TestReloadKeepsTheStore: a second config with the same store URL gets
// the same store (counts, file lock) and the store closes only when the
// last config lets go.
func TestReloadKeepsTheStore(t *testing.T) {
	url := "file://" + filepath.Join(t.TempDir(), "usage.db")
	clock := testkit.NewClock(noon)
	plans := func() map[string]*Plan {
		return map[string]*Plan{"basic": {Quota: &QuotaConfig{Limit: 10, Period: store.Day}}}
	}
	old := &App{Store: url, Plans: plans(), now: clock.Now}
	if err := provisionApp(old); err != nil {
		t.Fatal(err)
	}
	kv, err := old.CreateKey(context.Background(), NewKey{Name: "acme", Plans: []string{"basic"}})
	if err != nil {
		t.Fatal(err)
	}
	newer := &App{Store: url, Plans: plans(), now: clock.Now, StoreTimeout: caddy.Duration(time.Second)}
	if err := provisionApp(newer); err != nil {
		t.Fatalf("reload with the same file store: %v", err)
	}
	if newer.st() != old.st() {
		t.Fatal("a reload must reuse the open store")
	}
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, err := newer.Key(context.Background(), kv.ID); err != nil {
		t.Fatalf("the store closed while the new config uses it: %v", err)
	}
	if err := newer.Cleanup(); err != nil {
		t.Fatal(err)
	}
	again := &App{Store: url, Plans: plans(), now: clock.Now}
	if err := provisionApp(again); err != nil {
		t.Fatalf("the file must be free after the last config let go: %v", err)
	}
	defer again.Cleanup()
	if _, err := again.Key(context.Background(), kv.ID); err != nil {
		t.Fatalf("key after reopening: %v", err)
	}
}

func TestProvisionErrors(t *testing.T) {
	cases := []struct {
		name string
		app  *App
		want []string
	}{
		{"unset key env", &App{Store: "memory://pe1", Plans: basicPlans(),
			Keys: []StaticKey{{Name: "k", Value: "{env.GPUGATE_TEST_UNSET_KEY}", Plans: []string{"basic"}}}},
			[]string{"usage_plans key k value", "environment variable"}},
		{"same value twice", &App{Store: "memory://pe2", Plans: basicPlans(), Keys: []StaticKey{
			{Name: "a", Hash: "sha256:" + strings.Repeat("b", 64), Plans: []string{"basic"}},
			{Name: "b", Hash: "sha256:" + strings.Repeat("b", 64), Plans: []string{"basic"}}}},
			[]string{"key b has the same value as another key"}},
		{"bad store", &App{Store: "ftp://x", Plans: basicPlans()}, []string{"store scheme", "redis://"}},
		{"bad on_store_error", &App{Store: "memory://pe3", OnStoreError: "open"}, []string{"on_store_error", "deny or allow"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := provisionApp(c.app)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	h := &Handler{Plans: []string{"gold"}}
	app := newApp(t, &App{Plans: basicPlans()}, testkit.NewClock(noon))
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := h.provisionWith(ctx, app); err == nil || !strings.Contains(err.Error(), `unknown plan "gold"`) {
		t.Fatalf("handler with an unknown plan: %v", err)
	}
}

// TestUsageFirstDayKnowsEarlierUseInItsWindow: a usage query starting in
// the middle of a month reports the remaining quota after earlier use.
func TestUsageFirstDayKnowsEarlierUseInItsWindow(t *testing.T) {
	f := newFixture(t, map[string]*Plan{"basic": {Quota: &QuotaConfig{Limit: 100, Period: store.Month}}})
	h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}, Cost: ptr(int64(30))})
	f.clock.Set(time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC))
	do(t, h, get("/", f.key), nil)
	u, err := f.app.UsageOf(context.Background(), "basic", f.keyID, time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Values[f.keyID]; len(got) != 2 || got[0] != [2]int64{0, 70} || got[1] != [2]int64{0, 70} {
		t.Fatalf("usage = %v, want [[0 70] [0 70]]", got)
	}
}

// TestProvisionDoesNotOpenTheStore: `caddy validate` provisions but never
// starts, so a config whose file store a running gateway holds (locked)
// validates at once; only Start opens the store, and it fails while the
// file is held.
func TestProvisionDoesNotOpenTheStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	running, err := embedded.OpenFile(path, embedded.Options{}) // the running gateway's lock
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close()
	app := &App{Store: "file://" + path, Plans: basicPlans()}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	start := time.Now()
	if err := app.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := app.Provision(ctx); err != nil {
		t.Fatalf("provision (as caddy validate does) while another process holds the store: %v", err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("provision waited %v on the store's lock", took)
	}
	if err := app.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := provisionApp(&App{Store: "file://" + path, Plans: basicPlans()}); err == nil {
		t.Fatal("starting a second gateway on a held file store must fail")
	}
}

// TestRequestsBeforeStart: between Provision and Start (the store is not
// open yet) a request is answered as on_store_error says, a stored key is
// never admitted, and the admin API answers 503; after Start all works.
func TestRequestsBeforeStart(t *testing.T) {
	t.Setenv("TEST_STATIC_KEY", "static-key-value-0123456789")
	for _, policy := range []string{"deny", "allow"} {
		t.Run(policy, func(t *testing.T) {
			app := &App{Store: "memory://before-start-" + policy, OnStoreError: policy, Plans: basicPlans(),
				Keys: []StaticKey{{Name: "s", Value: "{env.TEST_STATIC_KEY}", Plans: []string{"basic"}}}, now: testkit.NewClock(noon).Now}
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			if err := app.Provision(ctx); err != nil {
				t.Fatal(err)
			}
			defer app.Cleanup()
			h := newHandler(t, app, &Handler{Plans: []string{"basic"}})
			want := http.StatusServiceUnavailable
			if policy == "allow" {
				want = http.StatusOK
			}
			if r := do(t, h, get("/", "static-key-value-0123456789"), nil); r.status != want || r.header.Get("RateLimit") != "" {
				t.Fatalf("static key before Start: %d %v, want %d uncounted", r.status, r.header, want)
			}
			if r := do(t, h, get("/", "gpg_stored-key-value-not-verifiable"), nil); r.status != http.StatusServiceUnavailable {
				t.Fatalf("a key that needs the store, before Start: %d, want 503", r.status)
			}
			if _, err := app.ListKeys(context.Background()); !errors.Is(err, errStoreNotReady) {
				t.Fatalf("admin before Start: %v", err)
			}
			if err := app.Start(); err != nil {
				t.Fatal(err)
			}
			if r := do(t, h, get("/", "static-key-value-0123456789"), nil); r.status != http.StatusOK || r.header.Get("RateLimit") == "" {
				t.Fatalf("after Start: %d %v", r.status, r.header)
			}
		})
	}
}
