package health

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// fakeChecker answers checks after delay (or when ctx ends first).
type fakeChecker struct {
	checks []Check
	delay  time.Duration
}

func (f fakeChecker) CheckHealth(ctx context.Context) []Check {
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		// Answers late, as a checker that ignores its deadline would.
		time.Sleep(f.delay)
	}
	return f.checks
}

// newHandler provisions (not in parallel tests: Caddy's ProvisionContext,
// behind adapttest.Context, sets a package variable) a handler in mode with the given checkers and a
// running (or not) config.
func newHandler(t *testing.T, mode string, running bool, checkers ...namedChecker) *Handler {
	t.Helper()
	h := &Handler{Mode: mode, Timeout: caddy.Duration(200 * time.Millisecond), running: func() bool { return running }}
	if err := h.Provision(adapttest.Context(t)); err != nil {
		t.Fatal(err)
	}
	h.checkers = append(h.checkers, checkers...)
	return h
}

// probe serves one request; shuttingDown sets {http.shutting_down}.
func probe(t *testing.T, h *Handler, shuttingDown bool) (int, http.Header, report) {
	t.Helper()
	r := httptest.NewRequest("GET", "/readyz", nil)
	repl := caddy.NewReplacer()
	repl.Map(func(key string) (any, bool) {
		if key == "http.shutting_down" {
			return shuttingDown, true
		}
		return nil, false
	})
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, r, nil); err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return w.Code, w.Header(), rep
}

func statuses(rep report) map[string]string {
	m := map[string]string{}
	for _, c := range rep.Checks {
		m[c.Name] = c.Status
	}
	return m
}

func TestReadyWhenEveryCheckPasses(t *testing.T) {
	h := newHandler(t, ModeReady, true, namedChecker{"store", fakeChecker{checks: []Check{{Name: "usage_plans.store", OK: true, Detail: "answered"}}}})
	code, hdr, rep := probe(t, h, false)
	if code != 200 || rep.Status != "ok" {
		t.Fatalf("probe = %d %+v, want 200 ok", code, rep)
	}
	if hdr.Get("Content-Type") != "application/json" || hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("headers = %v", hdr)
	}
	want := map[string]string{"config": "ok", "shutdown": "ok", "usage_plans.store": "ok"}
	if got := statuses(rep); len(got) != len(want) || got["usage_plans.store"] != "ok" || got["config"] != "ok" {
		t.Errorf("checks = %v, want %v", got, want)
	}
	if v := testutil.ToFloat64(h.metrics.WithLabelValues("usage_plans.store")); v != 1 {
		t.Errorf("gpugate_health_check_up{check=usage_plans.store} = %v, want 1", v)
	}
}

func TestNotReadyWhenACheckFails(t *testing.T) {
	h := newHandler(t, ModeReady, true,
		namedChecker{"store", fakeChecker{checks: []Check{{Name: "usage_plans.store", Detail: "redis store did not answer within 100ms"}}}},
		namedChecker{"jwks", fakeChecker{checks: []Check{{Name: "jwt_auth.jwks", OK: true}}}})
	code, _, rep := probe(t, h, false)
	if code != 503 || rep.Status != "unavailable" {
		t.Fatalf("probe = %d %+v, want 503 unavailable", code, rep)
	}
	if got := statuses(rep); got["usage_plans.store"] != "fail" || got["jwt_auth.jwks"] != "ok" {
		t.Errorf("checks = %v", got)
	}
	if v := testutil.ToFloat64(h.metrics.WithLabelValues("usage_plans.store")); v != 0 {
		t.Errorf("gpugate_health_check_up{check=usage_plans.store} = %v, want 0", v)
	}
}

func TestSlowCheckerFailsAtTheTimeout(t *testing.T) {
	h := newHandler(t, ModeReady, true, namedChecker{"usage_plans", fakeChecker{delay: time.Second, checks: []Check{{Name: "usage_plans.store", OK: true}}}})
	start := time.Now()
	code, _, rep := probe(t, h, false)
	if code != 503 || statuses(rep)["usage_plans"] != "fail" {
		t.Fatalf("probe = %d %+v, want 503 with usage_plans failed", code, rep)
	}
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("the probe took %s; the 200ms timeout should end it", took)
	}
}

func TestShuttingDownIsNotReady(t *testing.T) {
	h := newHandler(t, ModeReady, true)
	code, _, rep := probe(t, h, true)
	if code != 503 || statuses(rep)["shutdown"] != "fail" {
		t.Fatalf("probe while shutting down = %d %+v, want 503 with shutdown failed", code, rep)
	}
}

func TestReplacedConfigIsNotReady(t *testing.T) {
	h := newHandler(t, ModeReady, false)
	code, _, rep := probe(t, h, false)
	if code != 503 || statuses(rep)["config"] != "fail" {
		t.Fatalf("probe of a config that is not running = %d %+v, want 503 with config failed", code, rep)
	}
}

func TestLiveIgnoresReadiness(t *testing.T) {
	h := newHandler(t, ModeLive, false)
	code, _, rep := probe(t, h, true)
	if code != 200 || rep.Status != "ok" || len(rep.Checks) != 0 {
		t.Fatalf("live probe = %d %+v, want 200 ok without checks", code, rep)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	if err := (&Handler{Mode: "maybe"}).Validate(); err == nil || !strings.Contains(err.Error(), "write live or ready") {
		t.Errorf("Validate(mode maybe) = %v", err)
	}
}

func TestHealthCheckCommand(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(`{"status":"x"}`))
	}))
	defer srv.Close()
	var out strings.Builder
	if err := probeURL(context.Background(), srv.URL+"/healthz", time.Second, &out); err != nil || !strings.HasPrefix(out.String(), "200 OK") {
		t.Errorf("probe of a 200 = %v %q", err, out.String())
	}
	if err := probeURL(context.Background(), srv.URL+"/readyz", time.Second, &out); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("probe of a 503 = %v, want an error naming 503", err)
	}
}
