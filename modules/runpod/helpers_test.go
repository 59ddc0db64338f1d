package runpod

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
)

const simKey = "sim-secret-key"

// startSim runs a simulator with fast pod and job lifecycles.
func startSim(t testing.TB, tweak ...func(*runpodsim.Options)) *runpodsim.Sim {
	t.Helper()
	opts := runpodsim.Options{APIKey: simKey, ProvisionDelay: 20 * time.Millisecond, StartDelay: 20 * time.Millisecond,
		Endpoints: []string{"ep-abc123"}, QueueDelay: 10 * time.Millisecond, RunDelay: 40 * time.Millisecond}
	for _, f := range tweak {
		f(&opts)
	}
	return runpodsim.Start(t, opts)
}

// provision provisions h against sim the way Caddy would, with the key in
// an environment variable, and cleans it up when the test ends.
func provision(t testing.TB, h *Handler, sim *runpodsim.Sim) *Handler {
	t.Helper()
	if os := "RUNPOD_UNIT_TEST_KEY"; h.APIKey == "" {
		t.Setenv(os, simKey)
		h.APIKey = "{env." + os + "}"
	}
	if h.BaseURL == "" {
		h.BaseURL = sim.ManagementURL
	}
	if h.ServerlessURL == "" {
		h.ServerlessURL = sim.ServerlessURL
	}
	if err := h.Provision(adapttest.Context(t)); err != nil {
		t.Fatalf("provision: %v", err)
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	t.Cleanup(func() { _ = h.Cleanup() })
	return h
}

// caddyContext is adapttest.Context, the name module_test.go uses.
func caddyContext(t testing.TB) caddy.Context {
	t.Helper()
	return adapttest.Context(t)
}

// result is a handler response.
type result struct {
	Code   int
	Header http.Header
	Body   string
}

// json decodes the body into v.
func (r result) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
}

// message returns the gateway error message of the body.
func (r result) message(t testing.TB) string {
	var m struct {
		Message string `json:"message"`
	}
	r.json(t, &m)
	return m.Message
}

// serve runs one request through h as user (the JWT subject; "" for none).
// headers alternate name, value.
func serve(t testing.TB, h *Handler, user, method, path, body string, headers ...string) result {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, path, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	r = prepare(r, w, user)
	if err := h.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })); err != nil {
		t.Fatalf("%s %s: handler error %v", method, path, err)
	}
	return result{Code: w.Code, Header: w.Header(), Body: w.Body.String()}
}

// prepare gives r the context Caddy's server gives a request, with user as
// jwt_auth's {http.auth.user.id}.
func prepare(r *http.Request, w http.ResponseWriter, user string) *http.Request {
	repl := caddy.NewReplacer()
	r = caddyhttp.PrepareRequest(r, repl, w, &caddyhttp.Server{})
	if user != "" {
		repl.Set("http.auth.user.id", user)
	}
	return r
}

// asHTTPServer serves h on a loopback listener (for streaming tests).
func asHTTPServer(t testing.TB, h *Handler) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = prepare(r, w, "user-1")
		_ = h.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil }))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// waitStatus polls GET /pods/{id} until desiredStatus is want.
func waitStatus(t testing.TB, h *Handler, user, id, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := serve(t, h, user, "GET", "/pods/"+id, "")
		var p map[string]any
		res.json(t, &p)
		if p["desiredStatus"] == want {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s never reached %s: %s", id, want, res.Body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
