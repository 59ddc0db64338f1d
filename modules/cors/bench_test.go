package cors

import (
	"github.com/gpugate/gpugate/modules/internal/adapttest"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkActualRequest measures an allowed cross-origin request that
// passes to the next handler (the hot path of a browser client).
func BenchmarkActualRequest(b *testing.B) {
	h := browserApp(b)
	r := httptest.NewRequest(http.MethodPost, "/api/v1/generate", nil)
	r.Header.Set("Origin", "https://studio.example.com")
	next := &counter{}
	w := adapttest.NewNopWriter()
	b.ReportAllocs()
	for b.Loop() {
		if err := h.ServeHTTP(w.Reset(), r, next); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreflight measures a preflight answered at the gateway.
func BenchmarkPreflight(b *testing.B) {
	h := browserApp(b)
	r := httptest.NewRequest(http.MethodOptions, "/api/v1/generate", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "content-type")
	next := &counter{}
	w := adapttest.NewNopWriter()
	b.ReportAllocs()
	for b.Loop() {
		if err := h.ServeHTTP(w.Reset(), r, next); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNoOrigin measures a non-browser request (no Origin header).
func BenchmarkNoOrigin(b *testing.B) {
	h := browserApp(b)
	r := httptest.NewRequest(http.MethodGet, "/api/v1/jobs/1", nil)
	next := &counter{}
	w := adapttest.NewNopWriter()
	b.ReportAllocs()
	for b.Loop() {
		if err := h.ServeHTTP(w.Reset(), r, next); err != nil {
			b.Fatal(err)
		}
	}
}
