package adapttest

import "net/http"

// NopWriter is a ResponseWriter for benchmarks: it keeps only its header
// map and discards the body, so a benchmark measures the handler rather
// than a recorder.
type NopWriter struct{ h http.Header }

// NewNopWriter returns a NopWriter with an empty header map.
func NewNopWriter() *NopWriter { return &NopWriter{h: make(http.Header)} }

// Header returns the header map.
func (w *NopWriter) Header() http.Header { return w.h }

// Write discards p.
func (w *NopWriter) Write(p []byte) (int, error) { return len(p), nil }

// WriteHeader discards the status.
func (w *NopWriter) WriteHeader(int) {}

// Reset clears the header map between iterations and returns w.
func (w *NopWriter) Reset() http.ResponseWriter {
	clear(w.h)
	return w
}
