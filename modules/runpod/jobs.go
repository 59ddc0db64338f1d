package runpod

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/gwerror"
	"github.com/gpugate/gpugate/modules/internal/metering"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// Serverless jobs bound to their creator, and the GPU time RunPod reports
// for them (see README: Jobs).

// jobOwnerTTL is how long the gateway remembers who created a job: longer
// than RunPod keeps a job (a queued job's ttl is at most a day, results
// stay 30 minutes).
const jobOwnerTTL = 48 * time.Hour

// maxJobBody bounds the part of a job answer read for its id, status and
// times; the rest of a larger answer passes through unread.
const maxJobBody = 1 << 20

// sharedStateUse says why h needs the usage-plan store ("" when it does
// not).
func (h *Handler) sharedStateUse() string {
	switch {
	case h.Mode == ModeServerless && h.OwnerClaim != "":
		return "owner_claim (jobs bound to the subject that created them)"
	case h.Mode == ModePods && h.hasCaps():
		return "max_pods, max_gpus and max_usd_per_hour"
	}
	return ""
}

// hasCaps reports whether a pod cap is configured.
func (h *Handler) hasCaps() bool { return h.MaxPods > 0 || h.MaxGPUs > 0 || h.MaxUSDPerHour > 0 }

// jobRecord names the record of a job's owner.
func jobRecord(endpointID, jobID string) string { return "runpod:job:" + endpointID + ":" + jobID }

// isAdmin reports whether the token grants admin_scope (in "scope", space
// separated, or "scp", a string or a list).
func (h *Handler) isAdmin(r *http.Request) bool {
	if h.AdminScope == "" {
		return false
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl == nil {
		return false
	}
	for _, claim := range [...]string{"{http.auth.user.scope}", "{http.auth.user.scp}"} {
		for _, s := range strings.FieldsFunc(repl.ReplaceAll(claim, ""), func(r rune) bool { return r == ' ' || r == ',' }) {
			if s == h.AdminScope {
				return true
			}
		}
	}
	return false
}

// jobAccess decides whether the request may reach job jobID of endpoint
// endpointID: its creator and admins may; anyone else, and everyone for a
// job the gateway has no record of, gets the same 404 as a job that does
// not exist. It writes the refusal and returns false.
func (h *Handler) jobAccess(w http.ResponseWriter, r *http.Request, owner, endpointID, jobID string) bool {
	if h.isAdmin(r) {
		return true
	}
	ctx, cancel := h.shared.Bound(r.Context())
	defer cancel()
	got, err := h.shared.Store().GetRecord(ctx, jobRecord(endpointID, jobID))
	switch {
	case err == nil && got == owner:
		return true
	case err == nil || errors.Is(err, store.ErrNotFound):
		_ = h.reject(w, r, gwerror.Response{Type: gwerror.ResourceNotFound})
	default:
		h.logger.Warn("runpod: the job owner lookup failed", zap.Error(err))
		_ = h.reject(w, r, gwerror.Response{Type: gwerror.Default5XX, Status: http.StatusServiceUnavailable,
			Header: http.Header{"Retry-After": {"1"}}})
	}
	return false
}

// jobFields are what the gateway reads of a job answer.
type jobFields struct {
	ID, Status               string
	ExecutionTime, DelayTime float64 // ms
	hasExecution, hasDelay   bool
}

// scanJob reads the top-level id, status, executionTime and delayTime of
// a job answer; a truncated answer yields the fields before the cut.
func scanJob(b []byte) jobFields {
	var f jobFields
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return f
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return f
		}
		switch key, _ := t.(string); key {
		case "id", "status":
			var s string
			if dec.Decode(&s) != nil {
				return f
			}
			if key == "id" {
				f.ID = s
			} else {
				f.Status = s
			}
		case "executionTime", "delayTime":
			var n float64
			if dec.Decode(&n) != nil {
				return f
			}
			if key == "executionTime" {
				f.ExecutionTime, f.hasExecution = n, true
			} else {
				f.DelayTime, f.hasDelay = n, true
			}
		default:
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return f
			}
		}
	}
	return f
}

// jobCall is what the gateway does with one job answer.
type jobCall struct {
	endpointID string
	op         string
	// owner binds a created job (run, runsync) to its creator.
	owner string
	// meter records the job's times for the usage plan (runsync, status,
	// status-sync).
	meter bool
}

// onJobBody handles the JSON of a successful job answer before it goes to
// the client: the creator is recorded before the client learns the job id
// (so a status call that follows at once, on any instance, finds it), and
// the execution and delay times of a finished job are read for the meters.
func (h *Handler) onJobBody(r *http.Request, call jobCall, body []byte) {
	f := scanJob(body)
	if call.owner != "" && (call.op == "run" || call.op == "runsync") && endpointIDPattern.MatchString(f.ID) {
		ctx, cancel := h.shared.Bound(r.Context())
		_, _, err := h.shared.Store().PutRecord(ctx, jobRecord(call.endpointID, f.ID), call.owner, jobOwnerTTL)
		cancel()
		if err != nil {
			h.logger.Warn("runpod: recording a job's owner failed; only admins can reach the job", zap.Error(err))
		}
	}
	if !call.meter || f.ID == "" || (f.Status != "COMPLETED" && f.Status != "FAILED") {
		return
	}
	once := "runpod:" + call.endpointID + ":" + f.ID
	if f.hasExecution && f.ExecutionTime > 0 {
		metering.Record(r.Context(), metering.Reading{Source: metering.RunPodExecution, Seconds: f.ExecutionTime / 1000, Once: once})
	}
	if f.hasDelay && f.DelayTime > 0 {
		metering.Record(r.Context(), metering.Reading{Source: metering.RunPodDelay, Seconds: f.DelayTime / 1000, Once: once})
	}
}

// jobCapture holds back a 200 job answer (up to maxJobBody) until it is
// complete, hands it to onBody, then sends it on unchanged; a larger
// answer is handed over at the limit and passes through. Any other status
// passes at once. Streams (/stream) never go through it.
type jobCapture struct {
	http.ResponseWriter
	onBody  func([]byte)
	status  int
	holding bool
	buf     bytes.Buffer
}

// WriteHeader holds a 200 back; other statuses pass.
func (c *jobCapture) WriteHeader(code int) {
	if c.status != 0 {
		return
	}
	if code < http.StatusOK {
		c.ResponseWriter.WriteHeader(code)
		return
	}
	c.status = code
	if code == http.StatusOK {
		c.holding = true
		return
	}
	c.ResponseWriter.WriteHeader(code)
}

// Write buffers a held answer up to maxJobBody.
func (c *jobCapture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if c.holding {
		if c.buf.Len()+len(p) <= maxJobBody {
			return c.buf.Write(p)
		}
		if err := c.release(); err != nil {
			return 0, err
		}
	}
	return c.ResponseWriter.Write(p)
}

// release hands the held part over and sends it on.
func (c *jobCapture) release() error {
	c.holding = false
	c.onBody(c.buf.Bytes())
	c.ResponseWriter.WriteHeader(http.StatusOK)
	_, err := c.ResponseWriter.Write(c.buf.Bytes())
	return err
}

// finish sends what is still held (the proxy has returned).
func (c *jobCapture) finish() {
	if c.holding {
		_ = c.release()
	}
}

// FlushError flushes unless the answer is held.
func (c *jobCapture) FlushError() error {
	if c.holding {
		return nil
	}
	return http.NewResponseController(c.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (c *jobCapture) Unwrap() http.ResponseWriter { return c.ResponseWriter }
