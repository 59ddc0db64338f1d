package runpodsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Job states of the Serverless API.
const (
	InQueue    = "IN_QUEUE"
	InProgress = "IN_PROGRESS"
	Completed  = "COMPLETED"
	Failed     = "FAILED"
	Cancelled  = "CANCELLED"
	TimedOut   = "TIMED_OUT"
)

// job is a simulated Serverless job. Its state is derived from the clock:
// IN_QUEUE for QueueDelay, IN_PROGRESS for RunDelay, then COMPLETED (or
// FAILED when the input asked for it with "fail": true).
type job struct {
	ID        string
	Endpoint  string
	Input     json.RawMessage
	Created   time.Time
	Cancelled bool
	Retried   int
	fail      bool
}

// status returns the job's state at now.
func (s *Server) jobStatus(j *job, now time.Time) string {
	switch age := now.Sub(j.Created); {
	case j.Cancelled:
		return Cancelled
	case age < s.opts.QueueDelay:
		return InQueue
	case age < s.opts.QueueDelay+s.opts.RunDelay:
		return InProgress
	case j.fail:
		return Failed
	default:
		return Completed
	}
}

// chunksReady is how many stream chunks a job has produced at now.
func (s *Server) chunksReady(j *job, now time.Time) int {
	run := now.Sub(j.Created) - s.opts.QueueDelay
	n := s.opts.StreamChunks
	if run < 0 {
		return 0
	}
	if s.opts.RunDelay <= 0 || run >= s.opts.RunDelay {
		return n
	}
	return int(int64(n) * int64(run) / int64(s.opts.RunDelay))
}

// jobView is the JSON the job API answers for a job.
func (s *Server) jobView(j *job, now time.Time) map[string]any {
	st := s.jobStatus(j, now)
	v := map[string]any{"id": j.ID, "status": st, "delayTime": int(min(now.Sub(j.Created), s.opts.QueueDelay) / time.Millisecond)}
	switch st {
	case Completed:
		v["executionTime"] = int(s.opts.RunDelay / time.Millisecond)
		v["output"] = map[string]any{"echo": j.Input}
	case Failed:
		// RunPod reports (and bills) the execution time of a failed job too.
		v["executionTime"] = int(s.opts.RunDelay / time.Millisecond)
		v["error"] = "handler raised an exception"
	}
	return v
}

// serveServerless serves /v2/{endpoint_id}/{operation}[/{job_id}].
func (s *Server) serveServerless(w http.ResponseWriter, r *http.Request, endpoint string, parts []string) {
	if !slices.Contains(s.opts.Endpoints, endpoint) {
		writeProblem(w, http.StatusNotFound, "endpoint not found")
		return
	}
	op, jobID := "", ""
	if len(parts) > 0 {
		op = parts[0]
	}
	if len(parts) == 2 {
		jobID = parts[1]
	}
	if len(parts) > 2 {
		writeProblem(w, http.StatusNotFound, "resource not found")
		return
	}
	method := map[string]string{"run": http.MethodPost, "runsync": http.MethodPost, "status": http.MethodGet,
		"status-sync": http.MethodGet, "stream": http.MethodGet, "cancel": http.MethodPost, "retry": http.MethodPost, "purge-queue": http.MethodPost,
		"health": http.MethodGet}[op]
	needsJob := op == "status" || op == "status-sync" || op == "stream" || op == "cancel" || op == "retry"
	switch {
	case method == "" || needsJob != (jobID != ""):
		writeProblem(w, http.StatusNotFound, "resource not found")
		return
	case r.Method != method:
		w.Header().Set("Allow", method)
		writeProblem(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	switch op {
	case "run", "runsync":
		s.runJob(w, r, endpoint, op == "runsync")
	case "health":
		s.health(w, endpoint)
	case "purge-queue":
		s.purgeQueue(w, endpoint)
	default:
		s.jobOperation(w, r, endpoint, op, jobID)
	}
}

func (s *Server) runJob(w http.ResponseWriter, r *http.Request, endpoint string, sync bool) {
	var body struct {
		Input   json.RawMessage `json:"input"`
		Webhook string          `json:"webhook"`
		Policy  json.RawMessage `json:"policy"`
		S3      json.RawMessage `json:"s3Config"`
	}
	limit := 10 << 20
	if sync {
		limit = 20 << 20
	}
	if r.ContentLength > int64(limit) {
		writeProblem(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	if err := strictDecode(r, &body); err != nil || len(body.Input) == 0 || body.Input[0] != '{' {
		writeProblem(w, http.StatusBadRequest, `body must be a JSON object with an "input" object`)
		return
	}
	var probe struct {
		Fail bool `json:"fail"`
	}
	_ = json.Unmarshal(body.Input, &probe)
	s.mu.Lock()
	j := &job{ID: s.newID() + "-u1", Endpoint: endpoint, Input: body.Input, Created: s.now(), fail: probe.Fail}
	s.jobs[j.ID] = j
	s.mu.Unlock()
	if !sync {
		writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "status": InQueue})
		return
	}
	s.awaitJob(w, r, j)
}

// awaitJob answers the job once it is final, or its state when the
// request's ?wait (1000..300000 ms, default 90 s) ends: runsync and
// status-sync.
func (s *Server) awaitJob(w http.ResponseWriter, r *http.Request, j *job) {
	wait := 90 * time.Second
	if q := r.URL.Query().Get("wait"); q != "" {
		ms, err := strconv.Atoi(q)
		if err != nil || ms < 1000 || ms > 300000 {
			writeProblem(w, http.StatusBadRequest, "wait must be between 1000 and 300000 milliseconds")
			return
		}
		wait = time.Duration(ms) * time.Millisecond
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		view := s.jobView(j, s.now())
		s.mu.Unlock()
		if st := view["status"]; st != InQueue && st != InProgress {
			writeJSON(w, http.StatusOK, view)
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			writeJSON(w, http.StatusOK, view)
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) jobOperation(w http.ResponseWriter, r *http.Request, endpoint, op, id string) {
	s.mu.Lock()
	j, ok := s.jobs[id]
	if !ok || j.Endpoint != endpoint {
		s.mu.Unlock()
		writeProblem(w, http.StatusNotFound, "job not found")
		return
	}
	now := s.now()
	st := s.jobStatus(j, now)
	switch op {
	case "status":
		v := s.jobView(j, now)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, v)
	case "status-sync":
		s.mu.Unlock()
		s.awaitJob(w, r, j)
	case "cancel":
		if st == InQueue || st == InProgress {
			j.Cancelled = true
		}
		v := map[string]any{"id": j.ID, "status": s.jobStatus(j, now)}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, v)
	case "retry":
		if st != Failed && st != TimedOut {
			s.mu.Unlock()
			writeProblem(w, http.StatusBadRequest, fmt.Sprintf("only FAILED or TIMED_OUT jobs can be retried; job is %s", st))
			return
		}
		j.Created, j.fail, j.Retried = now, false, j.Retried+1
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "status": InQueue})
	case "stream":
		s.mu.Unlock()
		s.stream(w, r, j)
	}
}

// stream answers GET /stream/{job_id}. Like RunPod it returns the partial
// outputs produced so far as {"status","stream":[{"output":...}]}. When the
// client asks for text/event-stream (tolerated extension), it instead keeps
// the response open and sends each chunk as an event the moment it exists,
// ending when the job is final.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, j *job) {
	chunk := func(i int) map[string]any { return map[string]any{"output": fmt.Sprintf("chunk %d", i+1)} }
	if r.Header.Get("Accept") != "text/event-stream" {
		s.mu.Lock()
		now := s.now()
		n, st := s.chunksReady(j, now), s.jobStatus(j, now)
		s.mu.Unlock()
		out := make([]map[string]any, 0, n)
		for i := range n {
			out = append(out, chunk(i))
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": st, "stream": out})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	sent := 0
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		now := s.now()
		n, st := s.chunksReady(j, now), s.jobStatus(j, now)
		s.mu.Unlock()
		for ; sent < n; sent++ {
			b, _ := json.Marshal(chunk(sent))
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		if st != InQueue && st != InProgress {
			fmt.Fprintf(w, "event: done\ndata: {\"status\":%q}\n\n", st)
			_ = rc.Flush()
			return
		}
		_ = rc.Flush()
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) health(w http.ResponseWriter, endpoint string) {
	counts := map[string]int{}
	s.mu.Lock()
	now := s.now()
	for _, j := range s.jobs {
		if j.Endpoint == endpoint {
			counts[s.jobStatus(j, now)]++
			if j.Retried > 0 {
				counts["retried"]++
			}
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"jobs": map[string]int{"completed": counts[Completed], "failed": counts[Failed] + counts[TimedOut],
			"inProgress": counts[InProgress], "inQueue": counts[InQueue], "retried": counts["retried"]},
		"workers": map[string]int{"idle": 1, "running": min(counts[InProgress], 3)},
	})
}

// purgeQueue cancels every queued job of the endpoint.
func (s *Server) purgeQueue(w http.ResponseWriter, endpoint string) {
	removed := 0
	s.mu.Lock()
	now := s.now()
	for id, j := range s.jobs {
		if j.Endpoint == endpoint && s.jobStatus(j, now) == InQueue {
			delete(s.jobs, id)
			removed++
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"removed": removed, "status": "completed"})
}
