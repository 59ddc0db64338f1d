package usageplan

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/upstream"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// fixture is an app with one stored key in plan basic.
type fixture struct {
	app   *App
	clock *testkit.Clock
	key   string // plaintext value
	keyID string
}

func newFixture(t *testing.T, plans map[string]*Plan, keyPlans ...string) *fixture {
	t.Helper()
	f := &fixture{clock: testkit.NewClock(noon)}
	f.app = newApp(t, &App{Plans: plans}, f.clock)
	if len(keyPlans) == 0 {
		keyPlans = []string{"basic"}
	}
	kv, err := f.app.CreateKey(context.Background(), NewKey{Name: "acme", Plans: keyPlans})
	if err != nil {
		t.Fatal(err)
	}
	f.key, f.keyID = kv.Value, kv.ID
	return f
}

func TestRejectsMissingUnknownDisabledAndWrongPlanKeys(t *testing.T) {
	t.Setenv("TEST_PARTNER_KEY", "partner-key-value-0123456789")
	f := &fixture{clock: testkit.NewClock(noon)}
	f.app = newApp(t, &App{Plans: basicPlans(), Keys: []StaticKey{
		{Name: "off", Value: "{env.TEST_PARTNER_KEY}", Plans: []string{"basic"}, Disabled: true},
	}}, f.clock)
	kv, _ := f.app.CreateKey(context.Background(), NewKey{Name: "pro-only", Plans: []string{"pro"}})
	h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}})
	for name, key := range map[string]string{
		"missing": "", "unknown": "gpg_nope", "disabled static": "partner-key-value-0123456789", "other plan": kv.Value,
	} {
		res := do(t, h, get("/", key), nil)
		if res.status != http.StatusForbidden || res.body != "{\"message\":\"Forbidden\"}\n" || res.upstream != nil {
			t.Errorf("%s key: %d %q (upstream reached: %v), want 403 Forbidden", name, res.status, res.body, res.upstream != nil)
		}
		if res.header.Get("RateLimit") != "" {
			t.Errorf("%s key: RateLimit header on a 403", name)
		}
	}
	got := counterValue(f.app.metrics.decisions.WithLabelValues(noPlan, outcomeForbidden))
	if got < 4 {
		t.Errorf("forbidden decisions metric = %v, want >= 4", got)
	}
}

func TestAdmittedRequestHeadersPlaceholdersAndKeyStripping(t *testing.T) {
	f := newFixture(t, basicPlans())
	h := newHandler(t, f.app, &Handler{Plans: []string{"pro", "basic"}})
	admitted := f.app.metrics.decisions.WithLabelValues("basic", "admitted")
	before := counterValue(admitted) // the collectors are the process's: other tests count too
	res := do(t, h, get("/v1/x", f.key), nil)
	if res.status != http.StatusOK || res.upstream == nil {
		t.Fatalf("status %d", res.status)
	}
	if v := res.upstream.Header.Get("X-Api-Key"); v != "" {
		t.Fatalf("the API key reached the upstream: %q", v)
	}
	if got := res.header.Get("RateLimit-Policy"); got != `"throttle";q=3;w=3, "quota";q=5;w=86400` {
		t.Errorf("RateLimit-Policy = %q", got)
	}
	if got := res.header.Get("RateLimit"); got != `"throttle";r=2;t=1, "quota";r=4;t=43200` {
		t.Errorf("RateLimit = %q", got)
	}
	for ph, want := range map[string]string{
		"http.usage_plan.key_id": f.keyID, "http.usage_plan.key_name": "acme", "http.usage_plan.plan": "basic",
	} {
		if got, _ := res.repl.GetString(ph); got != want {
			t.Errorf("{%s} = %q, want %q", ph, got, want)
		}
	}
	if got := counterValue(admitted) - before; got != 1 {
		t.Errorf("admitted metric grew by %v, want 1", got)
	}
}

func TestThrottleThenRefill(t *testing.T) {
	f := newFixture(t, basicPlans())
	h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}})
	for i := range 3 {
		if res := do(t, h, get("/", f.key), nil); res.status != http.StatusOK {
			t.Fatalf("burst request %d: %d", i, res.status)
		}
	}
	f.clock.Advance(250 * time.Millisecond)
	res := do(t, h, get("/", f.key), nil)
	if res.status != http.StatusTooManyRequests || res.body != "{\"message\":\"Too Many Requests\"}\n" || res.upstream != nil {
		t.Fatalf("fourth: %d %q", res.status, res.body)
	}
	if got := res.header.Get("Retry-After"); got != "1" { // 750ms rounded up
		t.Fatalf("Retry-After = %q, want 1", got)
	}
	f.clock.Advance(750 * time.Millisecond)
	if res := do(t, h, get("/", f.key), nil); res.status != http.StatusOK {
		t.Fatalf("after refill: %d", res.status)
	}
}

func TestQuotaExceededUntilMidnightAndCost(t *testing.T) {
	f := newFixture(t, map[string]*Plan{"basic": {Quota: &QuotaConfig{Limit: 20, Period: store.Day}}})
	gen := newHandler(t, f.app, &Handler{Plans: []string{"basic"}, Cost: ptr(int64(10))})
	poll := newHandler(t, f.app, &Handler{Plans: []string{"basic"}, Cost: ptr(int64(0))})
	for i := range 2 {
		if res := do(t, gen, get("/generate", f.key), nil); res.status != http.StatusOK {
			t.Fatalf("generate %d: %d", i, res.status)
		}
	}
	res := do(t, gen, get("/generate", f.key), nil)
	if res.status != http.StatusTooManyRequests || res.body != "{\"message\":\"Limit Exceeded\"}\n" {
		t.Fatalf("third generate: %d %q", res.status, res.body)
	}
	if got := res.header.Get("Retry-After"); got != "43200" {
		t.Fatalf("Retry-After = %q, want 43200 (seconds to UTC midnight)", got)
	}
	if res := do(t, poll, get("/jobs/1", f.key), nil); res.status != http.StatusOK {
		t.Fatalf("a cost 0 poll with no quota left: %d", res.status)
	}
	f.clock.Set(noon.Add(12 * time.Hour))
	if res := do(t, gen, get("/generate", f.key), nil); res.status != http.StatusOK {
		t.Fatalf("next day: %d", res.status)
	}
}

func TestConcurrencyCapReleasesWhenResponseEnds(t *testing.T) {
	f := newFixture(t, map[string]*Plan{"basic": {Concurrency: 1}})
	h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}})
	entered, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		do(t, h, get("/", f.key), func(w http.ResponseWriter, _ *http.Request) error {
			close(entered)
			<-release
			w.WriteHeader(http.StatusOK)
			return nil
		})
	}()
	<-entered
	res := do(t, h, get("/", f.key), nil)
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, "Too Many Concurrent Requests") || res.header.Get("Retry-After") == "" {
		t.Fatalf("second in flight: %d %q", res.status, res.body)
	}
	close(release)
	wg.Wait()
	if res := do(t, h, get("/", f.key), nil); res.status != http.StatusOK {
		t.Fatalf("after the first finished: %d", res.status)
	}
}

func TestRefundOn5xxAndTimeout(t *testing.T) {
	plans := map[string]*Plan{"basic": {Quota: &QuotaConfig{Limit: 1, Period: store.Day}}}
	cases := []struct {
		name     string
		refundOn []string
		next     caddyhttp.HandlerFunc
		refunded bool
	}{
		{"5xx response", []string{"5xx"}, status(http.StatusBadGateway), true},
		{"4xx response", []string{"5xx"}, status(http.StatusNotFound), false},
		{"handler error", []string{"5xx"}, fail(caddyhttp.Error(http.StatusBadGateway, errFromNext)), true},
		{"timeout", []string{"timeout"}, fail(caddyhttp.Error(http.StatusGatewayTimeout, errFromNext)), true},
		{"timeout only, 500", []string{"timeout"}, status(http.StatusInternalServerError), false},
		{"no refund_on", nil, status(http.StatusBadGateway), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, plans)
			h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}, RefundOn: c.refundOn})
			do(t, h, get("/", f.key), c.next)
			res := do(t, h, get("/", f.key), nil)
			if got := res.status == http.StatusOK; got != c.refunded {
				t.Fatalf("second request status %d; refunded = %v, want %v", res.status, got, c.refunded)
			}
		})
	}
}

func status(code int) caddyhttp.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(code); return nil }
}

func fail(err error) caddyhttp.HandlerFunc {
	return func(http.ResponseWriter, *http.Request) error { return err }
}

func TestKeySources(t *testing.T) {
	f := newFixture(t, basicPlans())
	q := newHandler(t, f.app, &Handler{Plans: []string{"basic"}, KeySource: &KeySource{From: "query", Name: "api_key"}})
	r := httptest.NewRequest(http.MethodGet, "/x?a=1&api_key="+f.key, nil)
	res := do(t, q, r, nil)
	if res.status != http.StatusOK || strings.Contains(res.upstream.URL.RawQuery, "api_key") || strings.Contains(res.upstream.RequestURI, f.key) {
		t.Fatalf("query key: %d, upstream query %q", res.status, res.upstream.URL.RawQuery)
	}
	if res.upstream.URL.Query().Get("a") != "1" {
		t.Fatalf("other query parameters must stay: %q", res.upstream.URL.RawQuery)
	}

	hd := newHandler(t, f.app, &Handler{Plans: []string{"basic"}, KeySource: &KeySource{From: "header", Name: "x-team-key"}})
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Team-Key", f.key)
	res = do(t, hd, r, nil)
	if res.status != http.StatusOK || res.upstream.Header.Get("X-Team-Key") != "" {
		t.Fatalf("custom header: %d", res.status)
	}
	// A later handler that puts it back does not get it past gpugate's
	// upstream client: the key source named it a credential.
	res.upstream.Header.Set("X-Team-Key", f.key)
	if got := upstream.OutboundHeader(res.upstream, nil, nil).Get("X-Team-Key"); got != "" {
		t.Fatalf("the upstream client sends the key source's header: %q", got)
	}

	ph := newHandler(t, f.app, &Handler{Plans: []string{"basic"}, KeySource: &KeySource{From: "placeholder", Name: "{http.auth.user.plan_key}"}})
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r, repl := caddyRequest(r)
	repl.Set("http.auth.user.plan_key", f.key)
	var got int
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error { got = http.StatusOK; return nil })
	rec := httptest.NewRecorder()
	if err := ph.ServeHTTP(rec, r, next); err != nil || got != http.StatusOK {
		t.Fatalf("placeholder key (a JWT claim): reached next %v, err %v, status %d", got == http.StatusOK, err, rec.Code)
	}
}

func TestHideRateLimitHeadersAndOverrideBucket(t *testing.T) {
	plans := map[string]*Plan{"basic": {Throttle: &store.Throttle{Rate: 100, Burst: 100},
		ThrottleOverrides: []ThrottleOverride{{Method: "POST", Path: "/generate", Throttle: store.Throttle{Rate: 1, Burst: 1}}}}}
	f := newFixture(t, plans)
	h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}, HideRateLimitHeaders: true})
	post := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/generate", nil)
		r.Header.Set("X-Api-Key", f.key)
		return r
	}
	res := do(t, h, post(), nil)
	if res.status != http.StatusOK || res.header.Get("RateLimit") != "" || res.header.Get("RateLimit-Policy") != "" {
		t.Fatalf("hidden headers: %d %v", res.status, res.header)
	}
	if res := do(t, h, post(), nil); res.status != http.StatusTooManyRequests {
		t.Fatalf("second POST /generate under rate 1 burst 1: %d", res.status)
	}
	if res := do(t, h, get("/generate", f.key), nil); res.status != http.StatusOK {
		t.Fatalf("GET uses the plan's default bucket: %d", res.status)
	}
}

func TestOnStoreError(t *testing.T) {
	t.Setenv("TEST_STATIC_KEY", "static-key-value-0123456789")
	for _, policy := range []string{"deny", "allow"} {
		t.Run(policy, func(t *testing.T) {
			f := &fixture{clock: testkit.NewClock(noon)}
			f.app = newApp(t, &App{Plans: basicPlans(), OnStoreError: policy,
				Keys: []StaticKey{{Name: "s", Value: "{env.TEST_STATIC_KEY}", Plans: []string{"basic"}}}}, f.clock)
			f.app.opened.Store(storeBox{failingStore{f.app.st()}})
			h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}})
			res := do(t, h, get("/", "static-key-value-0123456789"), nil)
			switch policy {
			case "deny":
				if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") != "1" || res.upstream != nil {
					t.Fatalf("deny: %d %q", res.status, res.body)
				}
			case "allow":
				if res.status != http.StatusOK || res.header.Get("RateLimit") != "" {
					t.Fatalf("allow: %d, RateLimit %q", res.status, res.header.Get("RateLimit"))
				}
			}
			// A stored key cannot be verified while the store is down: never admitted.
			if res := do(t, h, get("/", "gpg_some-stored-key"), nil); res.status != http.StatusServiceUnavailable {
				t.Fatalf("unverifiable key: %d, want 503", res.status)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestRejectedRequestKeepsKeyPlaceholdersForLogs(t *testing.T) {
	f := newFixture(t, map[string]*Plan{"basic": {Quota: &QuotaConfig{Limit: 0, Period: store.Day}}})
	h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}})
	res := do(t, h, get("/", f.key), nil)
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("quota 0: %d", res.status)
	}
	if id, _ := res.repl.GetString("http.usage_plan.key_id"); id != f.keyID {
		t.Fatalf("key id placeholder on a 429 = %q, want %q", id, f.keyID)
	}
	res = do(t, h, get("/", "gpg_unknown"), nil)
	if id, _ := res.repl.GetString("http.usage_plan.key_id"); id != "" {
		t.Fatalf("unknown key: key id placeholder %q", id)
	}
}

// TestOverrideMatchesTrailingSlash: POST /generate/ (and //generate/,
// /GENERATE) shares the POST /generate override's bucket instead of
// escaping to the plan's looser default throttle.
func TestOverrideMatchesTrailingSlash(t *testing.T) {
	plans := map[string]*Plan{"basic": {Throttle: &store.Throttle{Rate: 100, Burst: 100},
		ThrottleOverrides: []ThrottleOverride{
			{Method: "POST", Path: "/generate", Throttle: store.Throttle{Rate: 1, Burst: 1}},
			{Method: "POST", Path: "/jobs/", Throttle: store.Throttle{Rate: 1, Burst: 1}},
		}}}
	f := newFixture(t, plans)
	h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}})
	post := func(path string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, path, nil)
		r.Header.Set("X-Api-Key", f.key)
		return r
	}
	if res := do(t, h, post("/generate"), nil); res.status != http.StatusOK {
		t.Fatalf("first POST /generate: %d", res.status)
	}
	for _, p := range []string{"/generate/", "/generate//", "/GENERATE/", "/generate"} {
		if res := do(t, h, post(p), nil); res.status != http.StatusTooManyRequests {
			t.Fatalf("POST %s must share the override's bucket (rate 1 burst 1): %d", p, res.status)
		}
	}
	if res := do(t, h, post("/jobs"), nil); res.status != http.StatusOK {
		t.Fatalf("first POST /jobs: %d", res.status)
	}
	if res := do(t, h, post("/jobs/"), nil); res.status != http.StatusTooManyRequests {
		t.Fatalf("POST /jobs/ after POST /jobs under the /jobs/ override: %d", res.status)
	}
	if res := do(t, h, post("/generated"), nil); res.status != http.StatusOK {
		t.Fatalf("POST /generated is another path: %d", res.status)
	}
}
