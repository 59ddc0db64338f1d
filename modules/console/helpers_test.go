package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
	"github.com/gpugate/gpugate/modules/usageplan"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

var storeSeq atomic.Int64

// fixture is a console over a usage_plans app with a fresh memory store.
type fixture struct {
	console *Console
	app     *usageplan.App
}

// testPlans are the plans of most tests: basic with every kind of limit,
// free with none.
func testPlans() map[string]*usageplan.Plan {
	return map[string]*usageplan.Plan{
		"basic": {
			Throttle:          &store.Throttle{Rate: 10, Burst: 20},
			ThrottleOverrides: []usageplan.ThrottleOverride{{Method: "POST", Path: "/api/generate", Throttle: store.Throttle{Rate: 1, Burst: 5}}},
			Quota:             &usageplan.QuotaConfig{Limit: 1000, Period: store.Day},
			Concurrency:       8,
		},
		"free": {},
	}
}

func newFixture(t *testing.T, app *usageplan.App) *fixture {
	t.Helper()
	if app.Plans == nil {
		app.Plans = testPlans()
	}
	app.Store = "memory://console-test-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + strconv.FormatInt(storeSeq.Add(1), 10)
	ctx := adapttest.Context(t)
	t.Cleanup(func() { _ = app.Cleanup() })
	if err := app.Provision(ctx); err != nil {
		t.Fatalf("provision app: %v", err)
	}
	if err := app.Start(); err != nil {
		t.Fatalf("start app: %v", err)
	}
	c := new(Console)
	if err := c.Provision(adapttest.Context(t)); err != nil {
		t.Fatalf("provision console: %v", err)
	}
	return &fixture{console: c, app: app}
}

// reply is what one console request answered.
type reply struct {
	status int
	header http.Header
	body   string
}

// do sends r through the console's checks and routing for the fixture's
// app.
func (f *fixture) do(t *testing.T, r *http.Request) reply {
	t.Helper()
	rec := httptest.NewRecorder()
	if f.console.allowed(rec, r) {
		f.console.handle(rec, r, f.app)
	}
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// get is a browser's same-origin GET of a console page.
func get(path string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:2019"+path, nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return r
}

// post is a browser's same-origin form POST.
func post(path string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:2019"+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://127.0.0.1:2019")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return r
}
