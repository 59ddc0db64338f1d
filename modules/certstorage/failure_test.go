package certstorage

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"
)

// While Redis is down, every operation fails with an error that is not
// fs.ErrNotExist (certmagic would take a missing certificate as a reason
// to ask the CA for a new one), is counted, and never shows the password.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	r, rdb := sharedRedis(t)
	s, logs := testStorage(t, rdb, "down", time.Second)
	s.timeout = 300 * time.Millisecond
	must(t, s.Store(ctx(), "certificates/x/x.crt", []byte("CERT")))
	r.Stop()

	failures := counterValue(s.metrics.errors.WithLabelValues("load"))
	var errs []error
	_, err := s.Load(ctx(), "certificates/x/x.crt")
	errs = append(errs, err)
	_, err = s.Load(ctx(), "certificates/missing.crt")
	errs = append(errs, err)
	_, err = s.Stat(ctx(), "certificates/x/x.crt")
	errs = append(errs, err)
	_, err = s.List(ctx(), "certificates", true)
	errs = append(errs, err)
	errs = append(errs, s.Store(ctx(), "k", []byte("v")), s.Delete(ctx(), "k"))
	_, err = s.TryLock(ctx(), "l")
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("operation %d succeeded with Redis down", i)
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			t.Errorf("operation %d: %v is fs.ErrNotExist; a down Redis must not look like a missing key", i, err)
		}
		if strings.Contains(err.Error(), r.Password) {
			t.Errorf("operation %d: error shows the password: %v", i, err)
		}
	}
	if s.Exists(ctx(), "certificates/x/x.crt") {
		t.Error("Exists is true with Redis down")
	}
	if got := counterValue(s.metrics.errors.WithLabelValues("load")) - failures; got < 2 {
		t.Errorf("errors_total{operation=load} rose by %v, want 2", got)
	}
	for _, e := range logs.All() {
		if strings.Contains(e.Message+" "+strings.Join(fieldStrings(e.ContextMap()), " "), r.Password) {
			t.Errorf("log line shows the password: %s", e.Message)
		}
	}
}

func fieldStrings(m map[string]any) []string {
	var out []string
	for k, v := range m {
		out = append(out, k, strings.TrimSpace(strings.ReplaceAll(fmtAny(v), "\n", " ")))
	}
	return out
}

func fmtAny(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return ""
}
