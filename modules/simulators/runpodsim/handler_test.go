package runpodsim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// TestCaddyfileAdaptGolden adapts every testdata Caddyfile and compares the
// JSON with the golden file beside it (GPUGATE_UPDATE_GOLDEN=1 rewrites them).
func TestCaddyfileAdaptGolden(t *testing.T) { adapttest.Golden(t, "testdata") }

func TestCaddyfileErrors(t *testing.T) {
	for block, want := range map[string]string{
		"runpod_simulator":                                        "runpod_simulator: api_key is required; write e.g. `api_key {env.RUNPOD_API_KEY}`",
		"runpod_simulator extra":                                  `unexpected argument "extra"`,
		"runpod_simulator {\napi_key sk-literal-key\n}":           "runpod_simulator api_key: write the secret as a placeholder",
		"runpod_simulator {\napi_key {env.K}\nstart_delay x\n}":   "start_delay",
		"runpod_simulator {\napi_key {env.K}\nendpoint a/b\n}":    `endpoint "a/b": ids are 1 to 64 of`,
		"runpod_simulator {\napi_key {env.K}\nendpoint pods\n}":   "would shadow the management API",
		"runpod_simulator {\napi_key {env.K}\nno_capacity GTX\n}": `no_capacity "GTX" is not a GPU type id of the catalog`,
		"runpod_simulator {\napi_key {env.K}\nrate_limit 0\n}":    "rate_limit",
		"runpod_simulator {\napi_key {env.K}\nfaults on\n}":       `unknown subdirective "faults"`,
	} {
		adapttest.Error(t, "http://127.0.0.1:9911 {\n"+block+"\n}\n", want)
		if _, err := adapttest.Adapt("http://127.0.0.1:9911 {\n" + block + "\n}\n"); err != nil && strings.Contains(err.Error(), "sk-literal-key") {
			t.Errorf("error message echoes the key: %v", err)
		}
	}
}

// provisioned returns a provisioned handler whose key comes from
// RUNPODSIM_TEST_KEY; its Cleanup runs when the test ends.
func provisioned(t *testing.T, h *Handler) *Handler {
	t.Helper()
	h.APIKey = "{env.RUNPODSIM_TEST_KEY}"
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := h.Provision(adapttest.Context(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Cleanup() })
	return h
}

// serve sends one request with the test key through h.
func serve(t *testing.T, h *Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer sim-key")
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, req, nil); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestHandlerKeepsPodsAcrossReload: a second config with the same settings
// (a reload) serves the pods the first created; other settings, or the
// last config letting go, give a fresh simulator.
func TestHandlerKeepsPodsAcrossReload(t *testing.T) {
	t.Setenv("RUNPODSIM_TEST_KEY", "sim-key")
	first := provisioned(t, &Handler{Endpoints: []string{"ep-1"}})
	if rec := serve(t, first, "POST", "/v2/pods", `{"name":"a","image":"i","gpu":{"id":"NVIDIA GeForce RTX 3070"}}`); rec.Code != http.StatusCreated {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	reloaded := provisioned(t, &Handler{Endpoints: []string{"ep-1"}})
	_ = first.Cleanup() // the old config goes after the new one started
	if rec := serve(t, reloaded, "GET", "/v2/pods", ""); !strings.Contains(rec.Body.String(), `"name":"a"`) {
		t.Fatalf("after reload the pod is gone: %s", rec.Body)
	}
	other := provisioned(t, &Handler{Endpoints: []string{"ep-2"}})
	if rec := serve(t, other, "GET", "/v2/pods", ""); rec.Body.String() != "{\"pods\":[]}\n" {
		t.Fatalf("another configuration shares the pods: %s", rec.Body)
	}
	_ = reloaded.Cleanup()
	fresh := provisioned(t, &Handler{Endpoints: []string{"ep-1"}})
	if rec := serve(t, fresh, "GET", "/v2/pods", ""); rec.Body.String() != "{\"pods\":[]}\n" {
		t.Fatalf("a config after the last let go still has the pods: %s", rec.Body)
	}
	if rec := serve(t, fresh, "GET", "/v2/ep-1/health", ""); rec.Code != http.StatusOK {
		t.Fatalf("serverless endpoint = %d %s", rec.Code, rec.Body)
	}
}

func TestHandlerChecksTheKeyAndRecordsNothing(t *testing.T) {
	t.Setenv("RUNPODSIM_TEST_KEY", "another-key")
	h := provisioned(t, &Handler{})
	if rec := serve(t, h, "GET", "/v2/pods", ""); rec.Code != http.StatusUnauthorized || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("wrong key = %d %s", rec.Code, rec.Body)
	}
	if n := len(h.sim.(*Server).Requests()); n != 0 {
		t.Errorf("the served simulator recorded %d requests, want none", n)
	}

	t.Setenv("RUNPODSIM_TEST_KEY", "")
	unset := &Handler{APIKey: "{env.RUNPODSIM_TEST_KEY}"}
	if err := unset.Provision(adapttest.Context(t)); err == nil || !strings.Contains(err.Error(), "runpod_simulator api_key") {
		t.Fatalf("provision with an empty key: %v", err)
	}
	if err := unset.Cleanup(); err != nil {
		t.Fatalf("cleanup after a failed provision: %v", err)
	}
}
