package runpodsim

import (
	"net/http"
	"strings"
)

// Default bounds of the request recorder (see Options.RecordLimit and
// Options.RecordBodyLimit): the simulator's command may run for days.
const (
	DefaultRecordLimit     = 10000
	DefaultRecordBodyLimit = 64 << 10
)

// Request is one request the simulator received, as it arrived.
type Request struct {
	Method   string
	Host     string
	Path     string
	RawQuery string
	Header   http.Header
	// Body is the request body, cut to Options.RecordBodyLimit bytes.
	Body []byte
	// BodyTruncated is set when Body was cut.
	BodyTruncated bool
}

// recorder keeps the newest requests in a ring of at most limit entries,
// bodies cut to bodyLimit bytes. Guarded by Server.mu.
type recorder struct {
	limit, bodyLimit int
	ring             []Request // len <= limit; oldest at next once full
	next             int
	dropped          int
}

func newRecorder(limit, bodyLimit int) recorder {
	if limit == 0 {
		limit = DefaultRecordLimit
	}
	if bodyLimit == 0 {
		bodyLimit = DefaultRecordBodyLimit
	}
	return recorder{limit: max(limit, 0), bodyLimit: max(bodyLimit, 0)}
}

// add records r, whose body is copied (up to the limit) so that the
// recorder never holds on to a large request buffer.
func (rc *recorder) add(r Request) {
	if rc.limit == 0 {
		rc.dropped++
		return
	}
	body := r.Body
	if len(body) > rc.bodyLimit {
		body, r.BodyTruncated = body[:rc.bodyLimit], true
	}
	r.Body = append([]byte(nil), body...)
	if len(rc.ring) < rc.limit {
		rc.ring = append(rc.ring, r)
		return
	}
	rc.ring[rc.next] = r
	rc.next = (rc.next + 1) % rc.limit
	rc.dropped++
}

// all returns the recorded requests, oldest first.
func (rc *recorder) all() []Request {
	out := make([]Request, 0, len(rc.ring))
	out = append(out, rc.ring[rc.next:]...)
	return append(out, rc.ring[:rc.next]...)
}

func (rc *recorder) reset() { rc.ring, rc.next, rc.dropped = nil, 0, 0 }

// Requests returns a copy of the recorded requests, oldest first: every
// request received, or the newest Options.RecordLimit of them.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests.all()
}

// DroppedRequests is how many requests were received but are no longer
// (or were never) recorded because of Options.RecordLimit.
func (s *Server) DroppedRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests.dropped
}

// RequestsTo returns the recorded requests whose method matches (empty means
// any) and whose path starts with pathPrefix.
func (s *Server) RequestsTo(method, pathPrefix string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, pathPrefix) {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests.reset()
}
