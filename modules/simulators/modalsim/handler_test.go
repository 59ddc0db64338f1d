package modalsim

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
		"modal_simulator extra":                               `unexpected argument "extra"`,
		"modal_simulator {\napi_key mt-literal-key\n}":        "modal_simulator api_key: write the secret as a placeholder",
		"modal_simulator {\nproxy_auth {env.K}\n}":            "proxy_auth {env.MODAL_KEY} {env.MODAL_SECRET}",
		"modal_simulator {\nproxy_auth {env.K} ws-literal\n}": "modal_simulator proxy_auth secret: write the secret as a placeholder",
		"modal_simulator {\njob_step fast\n}":                 "job_step",
		"modal_simulator {\nbearer {env.K}\n}":                `unknown subdirective "bearer"`,
	} {
		adapttest.Error(t, "http://127.0.0.1:9912 {\n"+block+"\n}\n", want)
		if _, err := adapttest.Adapt("http://127.0.0.1:9912 {\n" + block + "\n}\n"); err != nil &&
			(strings.Contains(err.Error(), "mt-literal-key") || strings.Contains(err.Error(), "ws-literal")) {
			t.Errorf("error message echoes a key: %v", err)
		}
	}
}

func TestHandlerServesTheMultiTalkAPIAndKeepsJobsAcrossReload(t *testing.T) {
	t.Setenv("MODALSIM_TEST_KEY", "mt-key")
	provision := func() *Handler {
		h := &Handler{APIKey: "{env.MODALSIM_TEST_KEY}"}
		if err := h.Validate(); err != nil {
			t.Fatal(err)
		}
		if err := h.Provision(adapttest.Context(t)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Cleanup() })
		return h
	}
	serve := func(h *Handler, method, path, body, bearer string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		rec := httptest.NewRecorder()
		if err := h.ServeHTTP(rec, req, nil); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	first := provision()
	if rec := serve(first, "GET", "/api/v1/jobs", "", ""); rec.Code != http.StatusForbidden || rec.Body.String() != `{"detail":"Not authenticated"}` {
		t.Fatalf("no bearer = %d %s", rec.Code, rec.Body)
	}
	if rec := serve(first, "POST", "/api/v1/generate", validJob, "mt-key"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"pending"`) {
		t.Fatalf("generate = %d %s", rec.Code, rec.Body)
	}
	reloaded := provision()
	_ = first.Cleanup()
	if rec := serve(reloaded, "GET", "/api/v1/jobs", "", "mt-key"); !strings.Contains(rec.Body.String(), `"count":1`) {
		t.Fatalf("after reload: %s", rec.Body)
	}
	if rec := serve(reloaded, "GET", "/api/v1/health", "", ""); rec.Code != http.StatusOK {
		t.Fatalf("health = %d", rec.Code)
	}
	if n := len(reloaded.sim.(*Simulator).Requests()); n != 0 {
		t.Errorf("the served simulator recorded %d requests, want none", n)
	}
}
