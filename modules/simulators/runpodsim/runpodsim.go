package runpodsim

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configures a simulator.
type Options struct {
	// APIKey is the bearer key every request must carry.
	APIKey string
	// ProvisionDelay is how long a new pod stays PROVISIONING; StartDelay how
	// long it then stays STARTING (also after a start action).
	ProvisionDelay, StartDelay time.Duration
	// Endpoints are the Serverless endpoint ids that exist.
	Endpoints []string
	// QueueDelay is how long a job stays IN_QUEUE; RunDelay how long it then
	// stays IN_PROGRESS before COMPLETED.
	QueueDelay, RunDelay time.Duration
	// StreamChunks is how many partial outputs a job streams (default 3).
	StreamChunks int
	// LogLines is how many lines GET /v2/pods/{id}/logs streams (default 3),
	// LogInterval the pause between them.
	LogLines    int
	LogInterval time.Duration
	// NoCapacity lists catalog GPU ids that are out of stock: creating a
	// pod with one answers 400 "no capacity", as RunPod does.
	NoCapacity []string
	// RateLimitPerMinute limits authenticated requests per minute; 0 means
	// unlimited.
	RateLimitPerMinute int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RecordLimit is how many requests Requests keeps (the newest); 0 means
	// DefaultRecordLimit, a negative value records none.
	RecordLimit int
	// RecordBodyLimit is how many bytes of each request body are recorded;
	// 0 means DefaultRecordBodyLimit, a negative value records no body.
	RecordBodyLimit int
}

// Server is a simulated RunPod. Create it with New and serve it with any
// http.Server; it is safe for concurrent use.
type Server struct {
	opts Options

	mu       sync.Mutex
	pods     map[string]*pod
	podOrder []string
	jobs     map[string]*job
	requests recorder
	faults   []*Fault
	window   rateWindow
	nextID   int
}

// New returns a simulator with opts.
func New(opts Options) *Server {
	if opts.StreamChunks <= 0 {
		opts.StreamChunks = 3
	}
	if opts.LogLines <= 0 {
		opts.LogLines = 3
	}
	return &Server{opts: opts, pods: map[string]*pod{}, jobs: map[string]*job{},
		requests: newRecorder(opts.RecordLimit, opts.RecordBodyLimit)}
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// maxBody is the largest request body accepted (RunPod's runsync limit).
const maxBody = 20 << 20

// ServeHTTP records the request, checks the bearer key, applies rate limits
// and injected faults, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "cannot read request body")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.requests.add(Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()
	if len(body) > maxBody {
		writeProblem(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	if f := s.takeFault(r.URL.Path); f != nil && applyFault(w, r, f) {
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="runpod"`)
		writeProblem(w, http.StatusUnauthorized, "missing or invalid API key")
		return
	}
	if !s.allow(w) {
		return
	}
	s.route(w, r)
}

// authorized reports whether r carries the configured bearer key.
func (s *Server) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.opts.APIKey != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.APIKey)) == 1
}

// route dispatches /v2/... to the management or Serverless API.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/")
	if !ok {
		writeProblem(w, http.StatusNotFound, "resource not found")
		return
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch parts[0] {
	case "pods":
		s.servePods(w, r, parts[1:])
	case "catalog":
		if len(parts) == 2 && parts[1] == "gpus" && r.Method == http.MethodGet {
			writeJSON(w, http.StatusOK, GPUCatalog())
			return
		}
		writeProblem(w, http.StatusNotFound, "resource not found")
	default:
		s.serveServerless(w, r, parts[0], parts[1:])
	}
}

// newID returns a fresh opaque id: a counter (so ids never repeat) and
// random letters (so clients cannot guess them). Call it with s.mu held.
func (s *Server) newID() string {
	s.nextID++
	return fmt.Sprintf("%s%04d", strings.ToLower(rand.Text()[:10]), s.nextID)
}
