package deploy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

// metricName finds the series names a dashboard or rule file queries.
var metricName = regexp.MustCompile(`\b(?:gpugate|caddy)_[a-z0-9_]+`)

// queriedMetrics returns every metric name the observability pack's
// dashboard (its targets' expr) and alert rules (their expr) query.
func queriedMetrics(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, expr := range append(dashboardExprs(t), ruleExprs(t)...) {
		for _, m := range metricName.FindAllString(expr, -1) {
			seen[m] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) < 10 {
		t.Fatalf("the observability pack queries only %v", names)
	}
	return names
}

// dashboardExprs are the PromQL expressions of the Grafana dashboard:
// panel targets and template variable queries.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(testkit.Path(t, "examples/observability/grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Query any
			}
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			exprs = append(exprs, fmt.Sprint(q["query"]))
		}
	}
	return exprs
}

// ruleExprs are the expr fields of the alert rules (one line, or a block
// of deeper-indented lines after `expr: |`).
func ruleExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(testkit.Path(t, "examples/observability/alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(trimmed, "expr:") {
			continue
		}
		indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
		expr := strings.TrimPrefix(trimmed, "expr:")
		for i+1 < len(lines) && len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) > indent {
			i++
			expr += "\n" + lines[i]
		}
		exprs = append(exprs, expr)
	}
	if len(exprs) < 5 {
		t.Fatalf("alerts.yml has %d expressions", len(exprs))
	}
	return exprs
}

// scrape returns the sample lines of a gateway's /metrics.
func scrape(t *testing.T, g *testkit.Gateway) string {
	t.Helper()
	status, body := get(t, "http://"+g.OpsAddr+"/metrics")
	if status != 200 {
		t.Fatalf("GET /metrics = %d", status)
	}
	return body
}

// hasSample reports whether a scrape holds a sample of the series name.
func hasSample(scrape, name string) bool {
	for _, line := range strings.Split(scrape, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			return true
		}
	}
	return false
}

// TestObservabilityPackQueriesRealMetrics runs the shipped cluster
// Caddyfile (Redis, API keys, JWT route, reverse_proxy) and runpod
// Caddyfile (against the RunPod simulator), plus a JWKS-verified site,
// sends them traffic that produces every kind of answer, probes their
// readiness, scrapes their operations listeners and checks that every
// metric the Grafana dashboard and the alert rules query exists, with the
// route and plan labels and without a key id.
func TestObservabilityPackQueriesRealMetrics(t *testing.T) {
	t.Parallel()
	redis := testkit.StartRedis(t, testkit.RedisOptions{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(api.Close)
	home := t.TempDir()
	env := baseEnv(home, redis.URL(0))
	env["GPUGATE_UPSTREAM"] = api.URL
	cluster := testkit.StartGateway(t, "caddyfiles/cluster.Caddyfile", testkit.GatewayOptions{Env: env})
	for _, c := range []struct {
		method, path string
		headers      []string
		want         int
	}{
		{"GET", "/api/status", []string{"X-Api-Key", apiKey}, 200},
		{"POST", "/api/generate", []string{"X-Api-Key", apiKey}, 200},
		{"GET", "/api/fail", []string{"X-Api-Key", apiKey}, 502},
		{"GET", "/api/status", []string{"X-Api-Key", "gpg_not_a_key"}, 403},
		{"GET", "/jwt/status", []string{"Authorization", "Bearer " + planToken(t)}, 200},
		{"GET", "/jwt/status", nil, 401},
	} {
		resp := cluster.Do(c.method, c.path, nil, c.headers...)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Fatalf("%s %s = %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
	}

	sim := runpodsim.Start(t, runpodsim.Options{APIKey: "deploy-test-runpod-key", Endpoints: []string{"ep-deploy"}})
	renv := baseEnv(t.TempDir(), "")
	renv["RUNPOD_BASE_URL"], renv["RUNPOD_SERVERLESS_URL"], renv["RUNPOD_ENDPOINT_ID"] = sim.ManagementURL, sim.ServerlessURL, "ep-deploy"
	runpod := testkit.StartGateway(t, "caddyfiles/runpod.Caddyfile", testkit.GatewayOptions{Env: renv})
	token := testkit.SignHS256(t, jwtSecret, testkit.StandardClaims("alice", "https://auth.example.com/", "gpugate"))
	resp := runpod.Do("GET", "/pods", nil, "Authorization", "Bearer "+token)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /pods = %d, want 200", resp.StatusCode)
	}

	jwks := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: testkit.RSAKey(t)})
	jwksSite := testkit.StartGateway(t, "tests/e2e/deploy/testdata/jwks.Caddyfile", testkit.GatewayOptions{
		Env: map[string]string{"DEPLOY_JWKS_URL": jwks.JWKSURL()}})

	for _, g := range []*testkit.Gateway{cluster, runpod} {
		if status, body := get(t, "http://"+g.OpsAddr+"/readyz"); status != 200 {
			t.Fatalf("%s /readyz = %d %s", g.URL, status, body)
		}
	}
	all := scrape(t, cluster) + scrape(t, runpod) + scrape(t, jwksSite)
	for _, name := range queriedMetrics(t) {
		if !hasSample(all, name) {
			t.Errorf("the observability pack queries %s, which no running gateway exposes", name)
		}
	}
	for _, want := range []string{
		`gpugate_route_requests_total{plan="pro",route="api",status="2xx"}`,
		`gpugate_route_requests_total{plan="pro",route="api",status="5xx"}`,
		`gpugate_route_requests_total{plan="none",route="api",status="4xx"}`,
		`gpugate_route_requests_total{plan="none",route="jwt",status="4xx"}`,
		`gpugate_route_requests_total{plan="pro",route="jwt",status="2xx"}`,
		`gpugate_health_check_up{check="usage_plans.store"} 1`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	for _, secret := range []string{"static-partner", apiKey, jwtSecret} {
		if strings.Contains(all, secret) {
			t.Errorf("a metric carries %q (a key id or secret)", secret)
		}
	}
}

// planToken is a JWT of the cluster Caddyfile's /jwt/ route: its plan_key
// claim carries the partner key.
func planToken(t *testing.T) string {
	c := testkit.StandardClaims("bob", "", "")
	c["plan_key"] = apiKey
	return testkit.SignHS256(t, jwtSecret, c)
}
