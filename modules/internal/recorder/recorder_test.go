package recorder

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecorderStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		write func(w http.ResponseWriter)
		want  int
	}{
		{"nothing", func(http.ResponseWriter) {}, 0},
		{"explicit", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTeapot); w.WriteHeader(500) }, http.StatusTeapot},
		{"informational first", func(w http.ResponseWriter) { w.WriteHeader(http.StatusEarlyHints); w.WriteHeader(204) }, 204},
		{"implicit by Write", func(w http.ResponseWriter) { _, _ = w.Write([]byte("x")) }, 200},
	}
	for _, c := range cases {
		rec := New(httptest.NewRecorder())
		c.write(rec)
		if rec.Status() != c.want {
			t.Errorf("%s: status %d, want %d", c.name, rec.Status(), c.want)
		}
	}
	rec := New(httptest.NewRecorder())
	if _, err := rec.ReadFrom(strings.NewReader("body")); err != nil || rec.Status() != http.StatusOK {
		t.Errorf("ReadFrom: status %d, err %v, want an implicit 200", rec.Status(), err)
	}
}
