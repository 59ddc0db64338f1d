// Package importapigw is the end-to-end test of `gpugate import-apigw`: the
// built binary turns the API Gateway fixtures into a Caddyfile, that
// Caddyfile adapts, is `caddy fmt` clean and runs, the keys are imported
// into the running gateway with their values, and clients using those
// values are admitted, throttled and held to their quota as the AWS plans
// said.
package importapigw

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

const fixtures = "modules/importapigw/testdata/oldchain"

// The values of keys in fixtures/api-keys.json.
const (
	studioKey  = "Vg3pA7sXq2LmN9tRbW5cYe1Kd8Fh4JzQ0uIoP6aS" // GPU Standard, Partner Monthly
	partnerKey = "pQ8rT2vX6yZ1aB4cD7eF0gH3iJ5kL9mN2oP4qR6s" // Partner Monthly
	trialKey   = "Tr1aLk3yB0bZxCvBnMaSdFgHjKlQwErTyUiOp123" // trial: 5 a day
	internKey  = "D1sAbLeDkEy00000aaaaBBBBccccDDDDeeeeFFFF" // disabled
	orphanKey  = "NoPlanKey111122223333444455556666777788889"
)

// upstream records what reached it.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func startUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Clone(r.Context()))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"upstream":true}`)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []*http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*http.Request(nil), u.seen...)
}

// run runs the binary and returns stdout and stderr.
func run(t *testing.T, bin string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

func TestImportAdaptRunAndUseImportedKeys(t *testing.T) {
	t.Parallel()
	bin := testkit.Binary(t)
	dir := testkit.Path(t, fixtures)
	gen := filepath.Join(t.TempDir(), "gateway.Caddyfile")

	// import -> Caddyfile, with the notes on stderr.
	_, notes := run(t, bin, "import-apigw", "caddyfile",
		"--usage-plans", filepath.Join(dir, "usage-plans.json"),
		"--export", filepath.Join(dir, "export-oas30.json"), "--output", gen)
	for _, want := range []string{"quota.offset=1000", "gateway response WAF_FILTERED", "x-amazon-apigateway-request-validator=body-only",
		"authorizer AdminAuthorizer", "Lambda function pods-api", "--base-path /prod"} {
		if !strings.Contains(notes, want) {
			t.Errorf("stderr lacks %q:\n%s", want, notes)
		}
	}

	// adapt and fmt accept it as it is.
	_, adaptLog := run(t, bin, "adapt", "--config", gen, "--adapter", "gpugate")
	if strings.Contains(adaptLog, `"warn"`) {
		t.Errorf("adapt warns:\n%s", adaptLog)
	}
	formatted, _ := run(t, bin, "fmt", gen)
	if src, _ := os.ReadFile(gen); formatted != string(src) {
		t.Errorf("caddy fmt would change the generated file:\n%s", formatted)
	}

	u := startUpstream(t)
	upHost := strings.TrimPrefix(u.URL, "http://")
	g := testkit.StartGateway(t, gen, testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_DATA": t.TempDir(),
		"GPUGATE_UPSTREAM_MULTITALK_EXAMPLE_MODAL_RUN": u.URL,
		"GPUGATE_UPSTREAM_LAMBDA_PODS_API":             upHost,
	}})

	// import the keys with their values through the admin API.
	keyArgs := []string{"import-apigw", "keys", "--address", g.AdminAddr,
		"--usage-plans", filepath.Join(dir, "usage-plans.json"),
		"--api-keys", filepath.Join(dir, "api-keys.json"),
		"--plan-keys", "a1b2c3=" + filepath.Join(dir, "usage-plan-keys-a1b2c3.json"),
		"--plan-keys", "d4e5f6=" + filepath.Join(dir, "usage-plan-keys-d4e5f6.json"),
		"--plan-keys", "g7h8i9=" + filepath.Join(dir, "usage-plan-keys-g7h8i9.json")}
	out, keyNotes := run(t, bin, keyArgs...)
	for _, want := range []string{`imported "studio-frontend" plans=GPU-Standard,Partner-Monthly id=`, `imported "partner acme" plans=Partner-Monthly`,
		`imported "trial-bob" plans=trial`, `imported "old-intern" plans=GPU-Standard`} {
		if !strings.Contains(out, want) {
			t.Errorf("keys output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(keyNotes, `"orphan": usage plans: in no usage plan`) {
		t.Errorf("the key in no plan is not reported:\n%s", keyNotes)
	}
	for _, v := range []string{studioKey, partnerKey, trialKey, internKey, orphanKey} {
		if strings.Contains(out+keyNotes, v) || strings.Contains(g.Logs(), v) {
			t.Fatal("a key value was printed or logged")
		}
	}
	// A second run finds every value in the store and changes nothing.
	again, _ := run(t, bin, keyArgs...)
	if strings.Count(again, "exists ") != 4 || strings.Contains(again, "imported") {
		t.Errorf("second import:\n%s", again)
	}

	get := func(method, path, key string, hdr ...string) (int, http.Header, string) {
		t.Helper()
		if key != "" {
			hdr = append(hdr, "X-Api-Key", key)
		}
		resp := g.Do(method, path, nil, hdr...)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}

	// An existing client's value works at once: the path parameter reaches
	// the integration's path, the key does not reach the upstream.
	if code, _, body := get(http.MethodGet, "/api/v1/jobs/job-42", studioKey); code != http.StatusOK || body != `{"upstream":true}` {
		t.Fatalf("imported key: %d %s\n%s", code, body, g.Logs())
	}
	last := u.requests()[len(u.requests())-1]
	if last.URL.Path != "/v1/jobs/job-42" || last.Header.Get("X-Api-Key") != "" || last.Header.Get("X-Request-Id") == "" {
		t.Errorf("upstream saw %s, X-Api-Key %q, X-Request-Id %q", last.URL.Path, last.Header.Get("X-Api-Key"), last.Header.Get("X-Request-Id"))
	}
	if code, _, _ := get(http.MethodGet, "/pods/abc/status", partnerKey); code != http.StatusOK || u.requests()[len(u.requests())-1].URL.Path != "/pods/abc/status" {
		t.Errorf("Lambda proxy route: %d", code)
	}

	// The mock needs no key; a missing, disabled or orphaned key gets the
	// restyled INVALID_API_KEY answer.
	if code, _, body := get(http.MethodGet, "/api/v1/health", ""); code != http.StatusOK || body != `{"status": "ok"}` {
		t.Errorf("mock: %d %s", code, body)
	}
	for name, key := range map[string]string{"none": "", "disabled": internKey, "orphan": orphanKey} {
		code, h, body := get(http.MethodGet, "/api/v1/jobs", key)
		var e struct{ Message, RequestID string }
		_ = json.Unmarshal([]byte(body), &e)
		if code != http.StatusForbidden || e.Message != "Forbidden" || e.RequestID == "" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s key: %d %s %v", name, code, body, h)
		}
	}

	// The per-method throttle of the old plan: burst 2 on POST /api/v1/generate.
	before := len(u.requests())
	var codes []int
	for range 3 {
		code, h, _ := get(http.MethodPost, "/api/v1/generate", studioKey)
		codes = append(codes, code)
		if code == http.StatusTooManyRequests && h.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests || len(u.requests())-before != 2 {
		t.Errorf("POST generate burst 2: %v, %d reached the upstream", codes, len(u.requests())-before)
	}

	// The trial plan's quota of 5 a day, with its restyled answer.
	for i := range 5 {
		if code, _, _ := get(http.MethodGet, "/api/v1/jobs", trialKey); code != http.StatusOK {
			t.Fatalf("trial request %d: %d", i+1, code)
		}
	}
	if code, _, body := get(http.MethodGet, "/api/v1/jobs", trialKey); code != http.StatusTooManyRequests || body != `{"message":"Daily quota used up","type":"QUOTA_EXCEEDED"}` {
		t.Errorf("past the quota: %d %s", code, body)
	}

	// CORS preflights are answered at the gateway; errors carry CORS headers.
	code, h, _ := get(http.MethodOptions, "/api/v1/generate", "", "Origin", "https://studio.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "x-api-key,content-type")
	if code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://studio.example.com" {
		t.Errorf("preflight: %d %v", code, h)
	}
	if code, h, _ := get(http.MethodGet, "/api/v1/jobs", "", "Origin", "https://studio.example.com"); code != http.StatusForbidden || h.Get("Access-Control-Allow-Origin") != "https://studio.example.com" {
		t.Errorf("403 to the browser app: %d %v", code, h)
	}

	// Methods behind the unmigrated Lambda authorizer fail closed; unknown
	// resources get API Gateway's answer.
	if code, _, _ := get(http.MethodGet, "/admin/users", studioKey); code != http.StatusUnauthorized {
		t.Errorf("authorizer route: %d", code)
	}
	if code, _, body := get(http.MethodGet, "/nope", studioKey); code != http.StatusForbidden || body != `{"message":"Missing Authentication Token"}` {
		t.Errorf("unknown path: %d %s", code, body)
	}
	if code, _, _ := get(http.MethodDelete, "/api/v1/generate", studioKey); code != http.StatusForbidden {
		t.Errorf("unknown method: %d", code)
	}
}
