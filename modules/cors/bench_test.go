package cors

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// nopWriter is a ResponseWriter that keeps only its header map, cleared
// between iterations, so the benchmarks measure the handler.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func (w *nopWriter) reset() http.ResponseWriter {
	clear(w.h)
	return w
}

// BenchmarkActualRequest measures an allowed cross-origin request that
// passes to the next handler (the hot path of a browser client).
func BenchmarkActualRequest(b *testing.B) {
	h := browserApp(b)
	r := httptest.NewRequest(http.MethodPost, "/api/v1/generate", nil)
	r.Header.Set("Origin", "https://studio.example.com")
	next := &counter{}
	w := &nopWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.ServeHTTP(w.reset(), r, next); err != nil {
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
	w := &nopWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.ServeHTTP(w.reset(), r, next); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNoOrigin measures a non-browser request (no Origin header).
func BenchmarkNoOrigin(b *testing.B) {
	h := browserApp(b)
	r := httptest.NewRequest(http.MethodGet, "/api/v1/jobs/1", nil)
	next := &counter{}
	w := &nopWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.ServeHTTP(w.reset(), r, next); err != nil {
			b.Fatal(err)
		}
	}
}
