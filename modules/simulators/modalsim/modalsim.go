package modalsim

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"
)

// Options configures a Simulator. The zero value is a MultiTalk endpoint
// without any auth and with Modal's production timings.
type Options struct {
	// APIKey is the bearer key the MultiTalk app checks; empty: no check.
	APIKey string
	// ProxyKey and ProxySecret turn on Modal proxy auth when set.
	ProxyKey    string
	ProxySecret string
	// CallLimit is how long a web request may run before Modal answers 303
	// (production: 150 s, the default).
	CallLimit time.Duration
	// JobStep is how long a job stays in each progress step (default 1 s):
	// pending for one step, processing for three (25, 50, 75 %), then
	// completed.
	JobStep time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// RecordLimit bounds the recorded requests (the oldest half is dropped
	// when it is reached); 0 means DefaultRecordLimit, a negative value
	// records none.
	RecordLimit int
}

// DefaultRecordLimit is how many requests a simulator records by default.
const DefaultRecordLimit = 10000

// maxBody is the largest request body the simulator reads.
const maxBody = 64 << 20

// Request is one request as the simulator received it.
type Request struct {
	Method string
	// Host is the Host header; ServerName the TLS SNI (empty over plain
	// HTTP or when the client sent none).
	Host       string
	ServerName string
	// Path is the escaped path as sent; Query the raw query string.
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	Time   time.Time
}

// Simulator is an http.Handler that behaves like a Modal web endpoint
// running the MultiTalk API. Start it with Start or StartTLS, or mount it
// anywhere.
type Simulator struct {
	opts  Options
	calls *functionCalls
	jobs  *jobStore
	app   http.Handler

	mu       sync.Mutex
	requests []Request
}

// New returns a simulator with opts, defaults filled in.
func New(opts Options) *Simulator {
	if opts.CallLimit <= 0 {
		opts.CallLimit = 150 * time.Second
	}
	if opts.JobStep <= 0 {
		opts.JobStep = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RecordLimit == 0 {
		opts.RecordLimit = DefaultRecordLimit
	}
	s := &Simulator{opts: opts, jobs: newJobStore(opts.Now, opts.JobStep)}
	s.calls = newFunctionCalls(opts.CallLimit)
	s.app = s.routes()
	return s
}

// ServeHTTP records the request, applies Modal's proxy auth and long-call
// handling, then runs the MultiTalk app.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		plainError(w, http.StatusRequestEntityTooLarge, "modal-http: request body too large or unreadable")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.record(r, body)
	if !s.proxyAuthOK(w, r) {
		return
	}
	if isStreaming(r) {
		s.app.ServeHTTP(w, r) // streamed responses flow directly
		return
	}
	s.calls.serve(w, r, s.app)
}

func (s *Simulator) record(r *http.Request, body []byte) {
	rec := Request{Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, Time: s.opts.Now()}
	if r.TLS != nil {
		rec.ServerName = r.TLS.ServerName
	}
	limit := s.opts.RecordLimit
	if limit < 0 {
		return
	}
	s.mu.Lock()
	if len(s.requests) >= limit { // a long-running simulator must not grow forever
		s.requests = append(s.requests[:0], s.requests[len(s.requests)-limit/2:]...)
	}
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

// Requests returns a copy of every request received so far, oldest first.
func (s *Simulator) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Reset forgets the recorded requests.
func (s *Simulator) Reset() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

// proxyAuthOK applies Modal's proxy auth: when configured, every request
// needs Modal-Key and Modal-Secret.
func (s *Simulator) proxyAuthOK(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.ProxyKey == "" && s.opts.ProxySecret == "" {
		return true
	}
	key, secret := r.Header.Get("Modal-Key"), r.Header.Get("Modal-Secret")
	switch {
	case key == "" || secret == "":
		plainError(w, http.StatusUnauthorized, "modal-http: missing credentials for proxy authorization")
	case !equalSecret(key, s.opts.ProxyKey) || !equalSecret(secret, s.opts.ProxySecret):
		plainError(w, http.StatusUnauthorized, "modal-http: invalid credentials for proxy authorization")
	default:
		return true
	}
	return false
}

func plainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}
