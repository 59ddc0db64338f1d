package modalsim

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// routes is the MultiTalk FastAPI app plus the test-only routes.
func (s *Simulator) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("POST /api/v1/generate", s.authed(s.generate))
	mux.HandleFunc("GET /api/v1/jobs", s.authed(s.listJobs))
	mux.HandleFunc("GET /api/v1/jobs/{id}", s.authed(s.getJob))
	mux.HandleFunc("DELETE /api/v1/jobs/{id}", s.authed(s.cancelJob))
	mux.HandleFunc("GET /api/v1/jobs/{id}/download", s.authed(s.download))
	mux.HandleFunc("/api/v1/slow", s.authed(s.slow))
	mux.HandleFunc("GET /api/v1/stream", s.authed(s.stream))
	return fastAPIErrors(mux)
}

// authed checks the MultiTalk bearer key.
func (s *Simulator) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.APIKey == "" {
			next(w, r)
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": "Not authenticated"})
			return
		}
		if !equalSecret(token, s.opts.APIKey) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": "Invalid API key"})
			return
		}
		next(w, r)
	}
}

func (s *Simulator) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "healthy", "timestamp": s.opts.Now().UTC().Format(time.RFC3339), "version": "1.0.0"})
}

func (s *Simulator) generate(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || body == nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []validationError{{
			Type: "json_invalid", Loc: []any{"body", 0}, Msg: "JSON decode error", Input: map[string]any{}}}})
		return
	}
	req, problems := validateGenerate(body)
	if len(problems) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": problems})
		return
	}
	j := s.jobs.create(req)
	writeJSON(w, http.StatusOK, map[string]any{"job_id": j.id, "status": statusPending,
		"created_at": formatTime(j.created), "message": "Job submitted successfully"})
}

func (s *Simulator) getJob(w http.ResponseWriter, r *http.Request) {
	j, ok := s.jobs.view(r.PathValue("id"))
	if !ok {
		jobNotFound(w, r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Simulator) listJobs(w http.ResponseWriter, r *http.Request) {
	limit := 10
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []validationError{{
				Type: "less_than_equal", Loc: []any{"query", "limit"}, Msg: "Input should be an integer between 1 and 100", Input: v}}})
			return
		}
		limit = n
	}
	jobs, total := s.jobs.list(limit)
	writeJSON(w, http.StatusOK, map[string]any{"jobs": jobs, "total": total, "limit": limit})
}

func (s *Simulator) cancelJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	j, found, cancelled := s.jobs.cancel(id)
	switch {
	case !found:
		jobNotFound(w, id)
	case !cancelled:
		writeJSON(w, http.StatusBadRequest, map[string]any{"detail": map[string]any{
			"error": "Job cannot be cancelled", "job_id": id, "status": j.Status}})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"job_id": id, "status": statusCancelled, "message": "Job cancelled"})
	}
}

func (s *Simulator) download(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	j, ok := s.jobs.view(id)
	switch {
	case !ok:
		jobNotFound(w, id)
	case j.Status != statusCompleted:
		writeJSON(w, http.StatusBadRequest, map[string]any{"detail": map[string]any{
			"error": "Job not completed", "job_id": id, "status": j.Status}})
	default:
		key := strings.TrimPrefix(j.Result["video_s3_url"].(string), "s3://")
		bucket, object, _ := strings.Cut(key, "/")
		writeJSON(w, http.StatusOK, map[string]any{"job_id": id, "expires_in": 3600,
			"download_url": fmt.Sprintf("https://%s.s3.amazonaws.com/%s?X-Amz-Expires=3600", bucket, object)})
	}
}

// slow is a test-only web function that runs for ?duration= (default 1s).
func (s *Simulator) slow(w http.ResponseWriter, r *http.Request) {
	d := time.Second
	if v := r.URL.Query().Get("duration"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < 0 {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": "duration must be a Go duration such as 500ms"})
			return
		}
	}
	time.Sleep(d)
	writeJSON(w, http.StatusOK, map[string]any{"slept": d.String(), "method": r.Method, "body_bytes": r.ContentLength})
}

// stream is a test-only route sending ?events= (default 3) server-sent
// events, ?interval= apart (default 100ms), each flushed.
func (s *Simulator) stream(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("events"))
	if err != nil || n <= 0 {
		n = 3
	}
	interval, err := time.ParseDuration(r.URL.Query().Get("interval"))
	if err != nil || interval < 0 {
		interval = 100 * time.Millisecond
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for i := 1; i <= n; i++ {
		if i > 1 {
			select {
			case <-time.After(interval):
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprintf(w, "event: progress\ndata: {\"progress\":%d}\n\n", i*100/n)
		_ = rc.Flush()
	}
}

// isStreaming reports whether r goes to a streaming route, which Modal
// serves without buffering the response.
func isStreaming(r *http.Request) bool { return r.URL.Path == "/api/v1/stream" }

func jobNotFound(w http.ResponseWriter, id string) {
	writeJSON(w, http.StatusNotFound, map[string]any{"detail": map[string]any{"error": "Job not found", "job_id": id}})
}

// fastAPIErrors gives the mux's own 404 and 405 answers FastAPI's JSON
// shape.
func fastAPIErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // sets the path values
			return
		}
		probe := &statusProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		switch probe.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", probe.header.Get("Allow"))
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"detail": "Method Not Allowed"})
		default:
			writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not Found"})
		}
	})
}

// statusProbe captures the status of the mux's fallback handler.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func equalSecret(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }
