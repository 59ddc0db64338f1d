package modalsim

import (
	"crypto/rand"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Job states of the MultiTalk API.
const (
	statusPending    = "pending"
	statusProcessing = "processing"
	statusCompleted  = "completed"
	statusFailed     = "failed"
	statusCancelled  = "cancelled"
)

// generateRequest is a validated POST /api/v1/generate body.
type generateRequest struct {
	Prompt       string         `json:"prompt"`
	ImageS3URL   string         `json:"image_s3_url"`
	AudioS3URLs  []string       `json:"audio_s3_urls"`
	OutputBucket string         `json:"output_s3_bucket,omitempty"`
	OutputPrefix string         `json:"output_s3_prefix,omitempty"`
	WebhookURL   string         `json:"webhook_url,omitempty"`
	Options      map[string]any `json:"options"`
}

// Job is the JSON shape of GET /api/v1/jobs/{id}.
type Job struct {
	JobID     string         `json:"job_id"`
	Status    string         `json:"status"`
	CreatedAt string         `json:"created_at"`
	UpdatedAt string         `json:"updated_at"`
	Progress  int            `json:"progress"`
	Result    map[string]any `json:"result"`
	Error     *string        `json:"error"`
	Metadata  map[string]any `json:"metadata"`
}

// job is a stored job; its state follows from the clock.
type job struct {
	id        string
	created   time.Time
	cancelled time.Time // zero unless cancelled
	req       generateRequest
}

// jobStore holds the jobs; progress is derived from elapsed time, one
// state per step.
type jobStore struct {
	now  func() time.Time
	step time.Duration

	mu   sync.Mutex
	jobs map[string]*job
}

func newJobStore(now func() time.Time, step time.Duration) *jobStore {
	return &jobStore{now: now, step: step, jobs: map[string]*job{}}
}

func (s *jobStore) create(req generateRequest) *job {
	j := &job{id: newJobID(), created: s.now(), req: req}
	s.mu.Lock()
	s.jobs[j.id] = j
	s.mu.Unlock()
	return j
}

func (s *jobStore) view(id string) (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return Job{}, false
	}
	return s.render(j), true
}

// JobSummary is one entry of GET /api/v1/jobs.
type JobSummary struct {
	JobID     string `json:"job_id"`
	Status    string `json:"status"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// list returns the newest limit jobs, newest first.
func (s *jobStore) list(limit int) []JobSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		all = append(all, j)
	}
	sort.Slice(all, func(a, b int) bool { return all[a].created.After(all[b].created) })
	out := make([]JobSummary, 0, min(limit, len(all)))
	for i := 0; i < len(all) && i < limit; i++ {
		v := s.render(all[i])
		out = append(out, JobSummary{JobID: v.JobID, Status: v.Status, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt})
	}
	return out
}

// cancel cancels a pending or processing job.
func (s *jobStore) cancel(id string) (Job, bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return Job{}, false, false
	}
	v := s.render(j)
	if v.Status != statusPending && v.Status != statusProcessing {
		return v, true, false
	}
	j.cancelled = s.now()
	return s.render(j), true, true
}

// render computes a job's current state: pending for one step, processing
// for three (25, 50, 75 %), then completed.
func (s *jobStore) render(j *job) Job {
	at := s.now()
	if !j.cancelled.IsZero() {
		at = j.cancelled
	}
	steps := int(at.Sub(j.created) / s.step)
	v := Job{JobID: j.id, CreatedAt: formatTime(j.created), Metadata: map[string]any{}}
	updated := j.created.Add(time.Duration(min(steps, 4)) * s.step)
	switch {
	case steps == 0:
		v.Status = statusPending
	case steps < 4:
		v.Status, v.Progress = statusProcessing, steps*25
	default:
		v.Status, v.Progress = statusCompleted, 100
		bucket, prefix := j.req.OutputBucket, j.req.OutputPrefix
		if bucket == "" {
			bucket = "multitalk-outputs"
		}
		if prefix == "" {
			prefix = "outputs/"
		}
		v.Result = map[string]any{"success": true, "s3_output": fmt.Sprintf("s3://%s/%s%s.mp4", bucket, prefix, j.id),
			"duration": 5.0, "frames": 81, "processing_time": (3 * s.step).Seconds()}
	}
	if !j.cancelled.IsZero() {
		v.Status, updated = statusCancelled, j.cancelled
	}
	v.UpdatedAt = formatTime(updated)
	return v
}

// newJobID returns a random UUID (version 4) as MultiTalk's job ids are.
func newJobID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
