package jsonmap

import (
	"github.com/gpugate/gpugate/modules/internal/adapttest"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discard is a terminal handler that drains the request body.
type discard struct{}

func (discard) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	_, _ = io.Copy(io.Discard, r.Body)
	w.WriteHeader(http.StatusOK)
	return nil
}

// BenchmarkMultiTalkRequest measures the request mapping hot path: read,
// parse, apply the MultiTalk template, encode.
func BenchmarkMultiTalkRequest(b *testing.B) {
	h := newHandler(b, &Handler{Request: multiTalk})
	const body = `{"prompt":"a cat talking about GPUs","image_url":"s3://bucket/in/cat.png","audio_url":"s3://bucket/in/cat.wav","steps":30}`
	r := httptest.NewRequest(http.MethodPost, "/api/v1/generate", nil)
	r.Header.Set("Content-Type", "application/json")
	w := adapttest.NewNopWriter()
	src := strings.NewReader(body)
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(body)
		r.Body, r.ContentLength = io.NopCloser(src), int64(len(body))
		if err := h.ServeHTTP(w.Reset(), r, discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResponseMapping measures buffering and mapping a small JSON
// job status.
func BenchmarkResponseMapping(b *testing.B) {
	h := newHandler(b, &Handler{Response: []Operation{{Op: OpMove, From: "job_id", Path: "id"}}})
	up := &upstream{contentType: "application/json",
		body: `{"job_id":"j-123","status":"processing","progress":40,"created_at":"2026-11-22T10:00:00Z"}`}
	r := httptest.NewRequest(http.MethodGet, "/api/v1/jobs/j-123", nil)
	w := adapttest.NewNopWriter()
	b.ReportAllocs()
	for b.Loop() {
		if err := h.ServeHTTP(w.Reset(), r, up); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPassThrough is the cost for a request json_map leaves alone
// (GET without body, no response mapping).
func BenchmarkPassThrough(b *testing.B) {
	h := newHandler(b, &Handler{Request: multiTalk})
	b.ReportAllocs()
	r := httptest.NewRequest(http.MethodGet, "/api/v1/jobs/j-123", nil)
	w := adapttest.NewNopWriter()
	for b.Loop() {
		if err := h.ServeHTTP(w.Reset(), r, discard{}); err != nil {
			b.Fatal(err)
		}
	}
}
