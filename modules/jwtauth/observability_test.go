package jwtauth

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gpugate/gpugate/tests/testkit"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestRejectionsLogAtDebugWithoutTokenText(t *testing.T) {
	h := hsHandler(t, nil)
	core, logs := observer.New(zapcore.DebugLevel)
	h.logger = zap.New(core)
	expired := testkit.StandardClaims("alice", "", "")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	tokens := []string{
		testkit.SignHS256(t, testSecret, expired),
		testkit.SignHS256(t, "wrong-secret-0123456789-abcdefghijkl", testkit.StandardClaims("alice", "", "")),
		"garbage.token.text",
	}
	for _, tok := range tokens {
		serve(t, h, bearer(tok))
	}
	serve(t, h, bearer(""))
	if logs.Len() != 4 {
		t.Fatalf("%d log entries, want one per rejection", logs.Len())
	}
	for _, e := range logs.All() {
		if e.Level != zapcore.DebugLevel {
			t.Errorf("rejection logged at %s: %q", e.Level, e.Message)
		}
		line := e.Message
		for _, f := range e.Context {
			line += " " + f.String
		}
		for _, tok := range tokens {
			if strings.Contains(line, tok) || strings.Contains(line, strings.Split(tok, ".")[2]) {
				t.Errorf("log entry holds token text: %s", line)
			}
		}
	}
}

func TestMetricsCountOutcomes(t *testing.T) {
	h := hsHandler(t, func(h *Handler) { h.RequireScopes = []string{"admin"} })
	admin := testkit.StandardClaims("alice", "", "")
	admin["scope"] = "admin"
	token := testkit.SignHS256(t, testSecret, admin)
	// The collectors are process-wide (counts survive reloads): compare
	// with the counts before this test's requests.
	before := map[string]float64{}
	for _, result := range []string{"ok", "missing", "invalid", "forbidden"} {
		before[result] = counterValue(t, h.metrics.results.WithLabelValues(result))
	}
	hitsBefore := counterValue(t, h.metrics.cache.WithLabelValues("hit"))
	serve(t, h, bearer(token))
	serve(t, h, bearer(token))
	serve(t, h, bearer(""))
	serve(t, h, bearer("x.y.z"))
	serve(t, h, bearer(testkit.SignHS256(t, testSecret, testkit.StandardClaims("bob", "", ""))))
	for result, want := range map[string]float64{"ok": 2, "missing": 1, "invalid": 1, "forbidden": 1} {
		if got := counterValue(t, h.metrics.results.WithLabelValues(result)) - before[result]; got != want {
			t.Errorf("requests_total{result=%q} = %v, want %v", result, got, want)
		}
	}
	if hits := counterValue(t, h.metrics.cache.WithLabelValues("hit")) - hitsBefore; hits != 1 {
		t.Errorf("cache hits = %v, want 1", hits)
	}
}

func TestBackgroundRefreshRevokesRemovedKey(t *testing.T) {
	k1, k2 := testkit.RSAKey(t), testkit.RSAKey(t)
	srv := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: k1}, testkit.JWK{KID: "k2", Key: k2})
	h := jwksHandler(t, srv, func(s *SourceConfig) {
		s.Refresh = caddyDuration(50 * time.Millisecond)
		s.MinRefetch = caddyDuration(time.Hour) // no unknown-kid refetch: only the refresh may change keys
	})
	old := testkit.Sign(t, jwt.SigningMethodRS256, k1, "k1", testkit.StandardClaims("alice", "", ""))
	wantOK(t, serve(t, h, bearer(old))) // now cached
	srv.SetKeys(t, testkit.JWK{KID: "k2", Key: k2})
	testkit.Eventually(t, 5*time.Second, "the refresh to drop k1", func() bool {
		return serve(t, h, bearer(old)).resp.StatusCode == http.StatusUnauthorized
	})
	wantOK(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, k2, "k2", testkit.StandardClaims("alice", "", "")))))
}

func TestClaimHeaderCannotSplitHeaders(t *testing.T) {
	h := hsHandler(t, func(h *Handler) { h.ClaimHeaders = []ClaimHeader{{Claim: "name", Header: "X-User-Name"}} })
	c := testkit.StandardClaims("alice", "", "")
	c["name"] = "Alice\r\nX-Admin: true"
	out := serve(t, h, bearer(testkit.SignHS256(t, testSecret, c)))
	wantOK(t, out)
	if got := out.upstream.Header.Get("X-User-Name"); got != "AliceX-Admin: true" {
		t.Errorf("X-User-Name = %q, want control characters removed", got)
	}
}

// counterValue reads a counter's current value.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
