package deploy

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

// otlpReceiver is an OTLP/HTTP trace endpoint (POST /v1/traces, protobuf)
// that keeps every span it receives.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		var export coltrace.ExportTraceServiceRequest
		if req.URL.Path != "/v1/traces" || proto.Unmarshal(b, &export) != nil {
			http.Error(w, "not an OTLP trace export", 400)
			return
		}
		r.mu.Lock()
		for _, rs := range export.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				r.spans = append(r.spans, ss.Spans...)
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.Close)
	return r
}

// waitFor polls until a span named name has arrived and returns the spans.
func (r *otlpReceiver) waitFor(t *testing.T, names ...string) []*tracepb.Span {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r.mu.Lock()
		spans := append([]*tracepb.Span(nil), r.spans...)
		r.mu.Unlock()
		have := map[string]bool{}
		for _, s := range spans {
			have[s.Name] = true
		}
		all := true
		for _, n := range names {
			all = all && have[n]
		}
		if all {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans %v did not all arrive; got %d spans: %v", names, len(spans), have)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tracingEnv turns on the Caddyfiles' tracing and exports to r quickly.
func tracingEnv(r *otlpReceiver, env map[string]string) map[string]string {
	env["GPUGATE_TRACING"] = "on"
	env["OTEL_TRACES_EXPORTER"] = "otlp"
	env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = r.URL
	env["OTEL_BSP_SCHEDULE_DELAY"] = "100"
	return env
}

// childrenOf checks that the spans named names are children of the request
// span named parent, in the same trace.
func childrenOf(t *testing.T, spans []*tracepb.Span, parent string, names ...string) {
	t.Helper()
	var root *tracepb.Span
	for _, s := range spans {
		if s.Name == parent && len(s.ParentSpanId) == 0 {
			root = s
		}
	}
	if root == nil {
		t.Fatalf("no root span %q among %d spans", parent, len(spans))
	}
	for _, name := range names {
		found := false
		for _, s := range spans {
			if s.Name != name || !bytes.Equal(s.TraceId, root.TraceId) {
				continue
			}
			found = true
			if !bytes.Equal(s.ParentSpanId, root.SpanId) {
				t.Errorf("span %s has parent %s, want the request span %s", name, hex.EncodeToString(s.ParentSpanId), hex.EncodeToString(root.SpanId))
			}
		}
		if !found {
			t.Errorf("no span %s in the request's trace %s", name, hex.EncodeToString(root.TraceId))
		}
	}
}

// TestGatewaySpansReachOTLP runs the shipped cluster and runpod Caddyfiles
// with GPUGATE_TRACING=on against an OTLP/HTTP receiver: a /jwt/ request
// yields the request span with gpugate.jwt_auth.verify and
// gpugate.usage_plan.decide under it, a /pods request the request span
// with gpugate.upstream (the RunPod call) under it; no span attribute
// carries the key, its id or the token.
func TestGatewaySpansReachOTLP(t *testing.T) {
	t.Parallel()
	recv := startOTLPReceiver(t)
	redis := testkit.StartRedis(t, testkit.RedisOptions{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{}`)) }))
	t.Cleanup(api.Close)
	env := baseEnv(t.TempDir(), redis.URL(0))
	env["GPUGATE_UPSTREAM"] = api.URL
	cluster := testkit.StartGateway(t, "caddyfiles/cluster.Caddyfile", testkit.GatewayOptions{Env: tracingEnv(recv, env)})
	token := planToken(t)
	resp := cluster.Do("GET", "/jwt/status", nil, "Authorization", "Bearer "+token)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /jwt/status = %d", resp.StatusCode)
	}
	spans := recv.waitFor(t, "gpugate.jwt_auth.verify", "gpugate.usage_plan.decide")
	childrenOf(t, spans, "gpugate", "gpugate.jwt_auth.verify", "gpugate.usage_plan.decide")

	sim := runpodsim.Start(t, runpodsim.Options{APIKey: "deploy-test-runpod-key"})
	renv := baseEnv(t.TempDir(), "")
	renv["RUNPOD_BASE_URL"] = sim.ManagementURL
	recv2 := startOTLPReceiver(t)
	runpod := testkit.StartGateway(t, "caddyfiles/runpod.Caddyfile", testkit.GatewayOptions{Env: tracingEnv(recv2, renv)})
	rtoken := testkit.SignHS256(t, jwtSecret, testkit.StandardClaims("alice", "https://auth.example.com/", "gpugate"))
	resp = runpod.Do("GET", "/pods", nil, "Authorization", "Bearer "+rtoken)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /pods = %d", resp.StatusCode)
	}
	rspans := recv2.waitFor(t, "gpugate.upstream", "gpugate.jwt_auth.verify")
	childrenOf(t, rspans, "gpugate", "gpugate.upstream", "gpugate.jwt_auth.verify")

	for _, s := range append(spans, rspans...) {
		for _, a := range s.Attributes {
			v := a.Value.String()
			for _, secret := range []string{apiKey, "static-partner", token, rtoken, jwtSecret, "deploy-test-runpod-key"} {
				if bytes.Contains([]byte(v), []byte(secret)) {
					t.Errorf("span %s attribute %s carries a secret or key id", s.Name, a.Key)
				}
			}
		}
	}
}
