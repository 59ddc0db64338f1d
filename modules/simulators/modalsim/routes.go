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
	mux.HandleFunc("GET /{$}", s.root)
	mux.HandleFunc("GET /api/v1/health", s.health)
	mux.HandleFunc("POST /api/v1/generate", s.authed(s.generate))
	mux.HandleFunc("GET /api/v1/jobs", s.authed(s.listJobs))
	mux.HandleFunc("GET /api/v1/jobs/{id}", s.authed(s.getJob))
	mux.HandleFunc("DELETE /api/v1/jobs/{id}", s.authed(s.cancelJob))
	mux.HandleFunc("GET /api/v1/jobs/{id}/download", s.authed(s.download))
	mux.HandleFunc("/api/v1/slow", s.authed(s.slow))
	mux.HandleFunc("GET /api/v1/stream", s.authed(s.stream))
	return fastAPIErrors(mux)
}

// authed checks the MultiTalk bearer key as the app does: FastAPI's
// HTTPBearer answers 403 when the Authorization header is missing or not a
// bearer token, the app's own check 401 for a wrong key.
func (s *Simulator) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.APIKey == "" {
			next(w, r)
			return
		}
		scheme, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		token = strings.TrimSpace(token)
		switch {
		case scheme == "" || token == "":
			writeJSON(w, http.StatusForbidden, map[string]any{"detail": "Not authenticated"})
			return
		case !strings.EqualFold(scheme, "bearer"):
			writeJSON(w, http.StatusForbidden, map[string]any{"detail": "Invalid authentication credentials"})
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
	writeJSON(w, http.StatusOK, struct {
		Status    string `json:"status"`
		Version   string `json:"version"`
		Timestamp string `json:"timestamp"`
	}{"healthy", "v1", formatTime(s.opts.Now())})
}

// root redirects to the API docs, as the app does.
func (s *Simulator) root(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/api/v1/docs", http.StatusTemporaryRedirect)
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
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []validationError{{
				Type: "int_parsing", Loc: []any{"query", "limit"},
				Msg: "Input should be a valid integer, unable to parse string as an integer", Input: v}}})
			return
		}
		limit = max(n, 0)
	}
	jobs := s.jobs.list(limit)
	writeJSON(w, http.StatusOK, struct {
		Jobs  []JobSummary `json:"jobs"`
		Count int          `json:"count"`
	}{jobs, len(jobs)})
}

func (s *Simulator) cancelJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	j, found, cancelled := s.jobs.cancel(id)
	switch {
	case !found:
		writeError(w, http.StatusNotFound, "Job not found", "", "")
	case !cancelled:
		writeError(w, http.StatusBadRequest, "Job cannot be cancelled", "Job is already "+j.Status, "")
	default:
		writeJSON(w, http.StatusOK, map[string]any{"job_id": id, "status": statusCancelled, "message": "Job cancelled"})
	}
}

func (s *Simulator) download(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	expiration := 3600
	if v := r.URL.Query().Get("expiration"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []validationError{{
				Type: "int_parsing", Loc: []any{"query", "expiration"},
				Msg: "Input should be a valid integer, unable to parse string as an integer", Input: v}}})
			return
		}
		expiration = n
	}
	j, ok := s.jobs.view(id)
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "Job not found", "", "")
	case j.Status != statusCompleted:
		writeError(w, http.StatusBadRequest, "Job not completed", "Job status is "+j.Status, "")
	default:
		output, _ := j.Result["s3_output"].(string)
		bucket, object, _ := strings.Cut(strings.TrimPrefix(output, "s3://"), "/")
		writeJSON(w, http.StatusOK, map[string]any{"job_id": id, "expires_in": expiration, "s3_uri": output,
			"download_url": fmt.Sprintf("https://%s.s3.amazonaws.com/%s?X-Amz-Expires=%d", bucket, object, expiration)})
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
	writeError(w, http.StatusNotFound, "Job not found", "No job with ID "+id, id)
}

// errorResponse is the app's ErrorResponse model, the detail of its
// HTTPExceptions.
type errorResponse struct {
	Error     string  `json:"error"`
	Detail    *string `json:"detail"`
	RequestID *string `json:"request_id"`
}

// writeError answers {"detail":{"error","detail","request_id"}}; an empty
// detail or request id is null.
func writeError(w http.ResponseWriter, status int, msg, detail, requestID string) {
	e := errorResponse{Error: msg}
	if detail != "" {
		e.Detail = &detail
	}
	if requestID != "" {
		e.RequestID = &requestID
	}
	writeJSON(w, status, map[string]any{"detail": e})
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

// formatTime writes a time as the app's JSON does (UTC, microseconds).
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
