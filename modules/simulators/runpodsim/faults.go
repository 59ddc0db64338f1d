package runpodsim

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// Fault is an injected failure for requests whose path starts with
// PathPrefix (empty: every request).
type Fault struct {
	PathPrefix string
	// Latency delays the answer (the request is still served unless Status
	// or Reset is set).
	Latency time.Duration
	// Status, when non-zero, answers with this status (typically 5xx) and a
	// problem+json body instead of serving the request.
	Status int
	// RetryAfter, with Status 429, sets Retry-After (seconds).
	RetryAfter string
	// Reset closes the connection without an answer (TCP RST).
	Reset bool
	// Times limits how many requests the fault hits; 0 means until cleared.
	Times int
}

// InjectFault adds a fault; faults apply in the order they were added.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the first fault matching path, consuming one use.
func (s *Server) takeFault(path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !strings.HasPrefix(path, f.PathPrefix) {
			continue
		}
		hit := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &hit
	}
	return nil
}

// applyFault runs f and reports whether the request was fully answered.
func applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
			return true
		}
	}
	if f.Reset {
		resetConnection(w)
		return true
	}
	if f.Status != 0 {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeProblem(w, f.Status, "injected fault")
		return true
	}
	return false
}

// resetConnection hijacks the connection and closes it with SO_LINGER 0, so
// the peer sees a connection reset.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
