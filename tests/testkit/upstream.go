package testkit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Received is one request as an Upstream received it.
type Received struct {
	Method string
	// Path is the decoded path, RawPath the path as it was sent.
	Path, RawPath string
	RawQuery      string
	Header        http.Header
	Body          []byte
}

// Upstream is an HTTP upstream for a gateway under test that records every
// request it receives (except testkit's readiness probe of "/").
type Upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []Received
}

// StartUpstream serves respond (nil: 200 {"ok":true}) on a loopback port
// until the test ends. Like an API server it reads each request body
// first: a body that ends early gets 400 and is not recorded; respond
// sees the others after they were recorded, their body already read.
func StartUpstream(t testing.TB, respond http.HandlerFunc) *Upstream {
	if respond == nil {
		respond = func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":true}`)
		}
	}
	u := &Upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if r.URL.Path == "/" && r.Method == http.MethodGet {
			return
		}
		if err != nil { // a cut-off body: what any server answers, and nothing recorded
			http.Error(w, "incomplete request body", http.StatusBadRequest)
			return
		}
		u.mu.Lock()
		u.seen = append(u.seen, Received{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(),
			RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		u.mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

// HostPort is the upstream's address, as reverse_proxy takes it.
func (u *Upstream) HostPort() string { return strings.TrimPrefix(u.URL, "http://") }

// Requests returns what reached the upstream so far.
func (u *Upstream) Requests() []Received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Received(nil), u.seen...)
}

// Reset forgets the requests received so far.
func (u *Upstream) Reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.seen = nil
}
