package modal

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkServeHTTP measures one proxied request end to end (client
// credential stripping, injection, path mapping, round trip to a loopback
// upstream, response copy).
func BenchmarkServeHTTP(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"job_id":"0b7c1f52","status":"pending"}`)
	}))
	b.Cleanup(up.Close)
	b.Setenv("MODALTEST_BEARER", testBearer)
	h := provision(b, &Handler{URL: up.URL, Bearer: "{env.MODALTEST_BEARER}", PathPrefix: "/api", UpstreamPrefix: "/api/v1"})
	body := `{"prompt":"p","image_s3_url":"s3://b/i.png","audio_s3_urls":["s3://b/a.wav"]}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/api/generate", strings.NewReader(body))
		req.Header.Set("X-Api-Key", "client")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		_ = h.ServeHTTP(rec, req, nil)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
