package runpodsim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// rateWindow counts requests in the current one-minute window.
type rateWindow struct {
	start time.Time
	count int
}

// allow charges one request against the per-minute limit and sets the
// RateLimit and RateLimit-Policy headers RunPod sends on authenticated
// responses. It answers 429 with Retry-After and reports false when the
// limit is spent.
func (s *Server) allow(w http.ResponseWriter) bool {
	limit := s.opts.RateLimitPerMinute
	if limit <= 0 {
		return true
	}
	now := s.now()
	s.mu.Lock()
	if now.Sub(s.window.start) >= time.Minute {
		s.window = rateWindow{start: now}
	}
	s.window.count++
	count := s.window.count
	reset := int((time.Minute - now.Sub(s.window.start) + time.Second - 1) / time.Second)
	s.mu.Unlock()
	remaining := max(limit-count, 0)
	w.Header().Set("RateLimit-Policy", fmt.Sprintf(`"minute";q=%d;w=60`, limit))
	w.Header().Set("RateLimit", fmt.Sprintf(`"minute";r=%d;t=%d`, remaining, reset))
	if count > limit {
		w.Header().Set("Retry-After", strconv.Itoa(reset))
		writeProblem(w, http.StatusTooManyRequests, "rate limit exceeded")
		return false
	}
	return true
}
