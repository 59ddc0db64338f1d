package usageplan

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// noon is the default test time: 12:00:00 UTC, 12h before the day ends.
var noon = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

var storeSeq atomic.Int64

// newApp provisions app with a fresh memory store and the clock.
func newApp(t testing.TB, app *App, clock *testkit.Clock) *App {
	t.Helper()
	if app.Store == "" {
		app.Store = "memory://test-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + itoa(storeSeq.Add(1))
	}
	app.now = clock.Now
	ctx := adapttest.Context(t)
	t.Cleanup(func() { _ = app.Cleanup() })
	if err := app.Validate(); err != nil {
		t.Fatalf("validate app: %v", err)
	}
	if err := app.Provision(ctx); err != nil {
		t.Fatalf("provision app: %v", err)
	}
	if err := app.Start(); err != nil {
		t.Fatalf("start app: %v", err)
	}
	return app
}

// newHandler provisions h against app.
func newHandler(t testing.TB, app *App, h *Handler) *Handler {
	t.Helper()
	if err := h.provisionWith(adapttest.Context(t), app); err != nil {
		t.Fatalf("provision handler: %v", err)
	}
	return h
}

// basicPlans is a plan set used by most tests.
func basicPlans() map[string]*Plan {
	return map[string]*Plan{
		"basic": {Throttle: &store.Throttle{Rate: 1, Burst: 3}, Quota: &QuotaConfig{Limit: 5, Period: store.Day}},
		"pro":   {Quota: &QuotaConfig{Limit: 1000, Period: store.Month}},
	}
}

// result is what one request produced.
type result struct {
	status   int
	header   http.Header
	body     string
	upstream *http.Request // nil when the handler answered itself
	repl     *caddy.Replacer
}

// do runs one request through h; next answers with status (and err).
func do(t testing.TB, h *Handler, r *http.Request, next caddyhttp.HandlerFunc) result {
	t.Helper()
	r, repl := caddyRequest(r)
	var res result
	res.repl = repl
	if next == nil {
		next = func(w http.ResponseWriter, _ *http.Request) error {
			w.WriteHeader(http.StatusOK)
			return nil
		}
	}
	rec := httptest.NewRecorder()
	err := h.ServeHTTP(rec, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		res.upstream = r
		return next(w, r)
	}))
	if err != nil && !errors.Is(err, errFromNext) {
		t.Fatalf("ServeHTTP: %v", err)
	}
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	res.status, res.header, res.body = resp.StatusCode, resp.Header, string(b)
	return res
}

// errFromNext marks an error the test's next handler returned on purpose.
var errFromNext = errors.New("from next")

func get(path, key string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if key != "" {
		r.Header.Set("X-Api-Key", key)
	}
	return r
}

// failingStore fails every call, like an unreachable Redis.
type failingStore struct{ store.Store }

func (failingStore) Decide(context.Context, store.Request) (store.Decision, error) {
	return store.Decision{}, errors.New("redis: i/o timeout")
}
func (failingStore) KeyByHash(context.Context, string) (store.Key, error) {
	return store.Key{}, errors.New("redis: i/o timeout")
}

// caddyRequest gives r the context a Caddy server gives a request: a
// replacer and the extra log fields {http.request.uuid} needs.
func caddyRequest(r *http.Request) (*http.Request, *caddy.Replacer) {
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.ExtraLogFieldsCtxKey, new(caddyhttp.ExtraLogFields)))
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
	repl := caddyhttp.NewTestReplacer(r)
	return r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)), repl
}

// counterValue reads a counter.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
