package runpod

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestScanJob(t *testing.T) {
	t.Parallel()
	full := `{"delayTime":18,"executionTime":36595,"id":"sync-1-u1","output":{"x":[1,2,{"y":"}"}]},"status":"COMPLETED"}`
	if f := scanJob([]byte(full)); f.ID != "sync-1-u1" || f.Status != "COMPLETED" || f.ExecutionTime != 36595 || f.DelayTime != 18 {
		t.Fatalf("full answer: %+v", f)
	}
	// A cut inside the output keeps what came before it.
	if f := scanJob([]byte(full[:60])); f.ID != "sync-1-u1" || f.ExecutionTime != 36595 || f.Status != "" {
		t.Fatalf("truncated answer: %+v", f)
	}
	for _, bad := range []string{"", "[]", `{"id":5}`, "not json"} {
		if f := scanJob([]byte(bad)); f.ID != "" || f.hasExecution {
			t.Fatalf("%q: %+v", bad, f)
		}
	}
}

// TestJobCaptureLargeAnswerPassesThrough: an answer past maxJobBody is
// handed over at the limit and reaches the client whole; other statuses
// are never held.
func TestJobCaptureLargeAnswerPassesThrough(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	var seen int
	c := &jobCapture{ResponseWriter: rec, onBody: func(b []byte) { seen = len(b) }}
	body := `{"id":"job-1","output":"` + strings.Repeat("x", maxJobBody) + `"}`
	c.WriteHeader(http.StatusOK)
	for i := 0; i < len(body); i += 4096 {
		if _, err := c.Write([]byte(body[i:min(i+4096, len(body))])); err != nil {
			t.Fatal(err)
		}
	}
	c.finish()
	if rec.Body.String() != body || seen == 0 || seen > maxJobBody {
		t.Fatalf("client got %d bytes of %d, onBody saw %d", rec.Body.Len(), len(body), seen)
	}
	rec = httptest.NewRecorder()
	c = &jobCapture{ResponseWriter: rec, onBody: func([]byte) { t.Fatal("a 404 was held") }}
	c.WriteHeader(http.StatusNotFound)
	_, _ = c.Write([]byte(`{}`))
	c.finish()
	if rec.Code != http.StatusNotFound || rec.Body.String() != "{}" {
		t.Fatalf("404 = %d %q", rec.Code, rec.Body)
	}
}
