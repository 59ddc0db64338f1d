package runpod

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gpugate/gpugate/modules/gwerror"
	"github.com/gpugate/gpugate/modules/internal/metering"
)

// podIDPattern is what a pod id may look like; anything else is a 404
// without an upstream call (no path tricks reach RunPod).
var podIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// podActions are the client's lifecycle paths, mapped to v2 actions.
var podActions = map[string]bool{"stop": true, "start": true, "restart": true}

// servePods serves the old client pod API:
//
//	GET    /pods             list (a JSON array)
//	POST   /pods             create -> 200 {"pod":{...}}
//	GET    /pods/{id}        one pod
//	POST   /pods/{id}/stop   also start, restart -> 200 {"pod":{...}}
//	DELETE /pods/{id}        terminate -> 204
func (h *Handler) servePods(w http.ResponseWriter, r *http.Request) error {
	owner, ok := h.owner(r)
	if !ok {
		return h.reject(w, r, gwerror.Response{Type: gwerror.Unauthorized})
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if parts[0] != "pods" || len(parts) > 3 || (len(parts) > 1 && !podIDPattern.MatchString(parts[1])) ||
		(len(parts) == 3 && !podActions[parts[2]]) {
		return h.reject(w, r, gwerror.Response{Type: gwerror.ResourceNotFound})
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		return h.listPods(w, r, owner)
	case len(parts) == 1 && r.Method == http.MethodPost:
		return h.createPod(w, r, owner)
	case len(parts) == 2 && r.Method == http.MethodGet:
		return h.getPod(w, r, owner, parts[1])
	case len(parts) == 2 && r.Method == http.MethodDelete:
		return h.podAction(w, r, owner, parts[1], "terminate")
	case len(parts) == 3 && r.Method == http.MethodPost:
		return h.podAction(w, r, owner, parts[1], parts[2])
	}
	allow := map[int]string{1: "GET, POST", 2: "GET, DELETE", 3: "POST"}[len(parts)]
	return h.reject(w, r, gwerror.Response{Type: gwerror.Default4XX, Status: http.StatusMethodNotAllowed,
		Header: http.Header{"Allow": {allow}}})
}

func (h *Handler) listPods(w http.ResponseWriter, r *http.Request, owner string) error {
	resp, ok := h.upstreamCall(w, r, http.MethodGet, "/pods", nil, http.StatusOK)
	if !ok {
		return nil
	}
	out, owned, err := h.translateList(resp.body, owner)
	if err != nil {
		return h.badUpstream(w, r)
	}
	if h.shared != nil && owner != "" {
		h.reconcile(r, owner, owned)
	}
	return writeBody(w, http.StatusOK, out)
}

func (h *Handler) getPod(w http.ResponseWriter, r *http.Request, owner, id string) error {
	raw, f, ok := h.fetchOwned(w, r, owner, id)
	if !ok {
		return nil
	}
	return writeBody(w, http.StatusOK, append(h.appendPresented(nil, raw, f, owner), '\n'))
}

func (h *Handler) createPod(w http.ResponseWriter, r *http.Request, owner string) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCreateBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return h.reject(w, r, gwerror.Response{Type: gwerror.RequestTooLarge})
		}
		return h.reject(w, r, gwerror.Response{Type: gwerror.BadRequestBody, Message: "cannot read request body"})
	}
	create, err := h.buildCreate(body, owner)
	if err != nil {
		return h.reject(w, r, gwerror.Response{Type: gwerror.BadRequestBody, Message: err.Error()})
	}
	var pending string
	if h.shared != nil && owner != "" {
		var ok bool
		if pending, ok = h.reserveCreate(w, r, owner, create); !ok {
			return nil
		}
	}
	payload, _ := json.Marshal(create)
	resp, ok := h.upstreamCall(w, r, http.MethodPost, "/pods", payload, http.StatusCreated, http.StatusOK)
	if !ok {
		if pending != "" {
			h.removePod(r, owner, pending)
		}
		return nil
	}
	f, err := parsePod(resp.body)
	if err != nil || f.ID == "" {
		if pending != "" {
			h.removePod(r, owner, pending) // the next listing counts the pod if it exists
		}
		return h.badUpstream(w, r)
	}
	if pending != "" {
		h.putPod(r, owner, entryOf(f, h.shared.Now()), pending)
	}
	return writeBody(w, http.StatusOK, h.wrapPod(resp.body, f, owner))
}

// podAction checks ownership (when configured), then applies a v2
// lifecycle action: terminate is DELETE /pods/{id} (204), the others POST
// /pods/{id}/action and answer {"pod":{...}}.
func (h *Handler) podAction(w http.ResponseWriter, r *http.Request, owner, id, action string) error {
	var before podFields
	known := false
	if owner != "" || metering.Metered(r.Context()) {
		var ok bool
		if _, before, ok = h.fetchOwned(w, r, owner, id); !ok {
			return nil
		}
		known = true
	}
	capped := h.shared != nil && owner != ""
	since := time.Time{}
	if known {
		since = h.runningSince(r, owner, before)
	}
	now := time.Now()
	if h.shared != nil {
		now = h.shared.Now()
	}
	if capped && known && !podHolds(before.Status) {
		// Stopped elsewhere since the gateway recorded it running: charged
		// up to now, as the listing that noticed it would (once per start).
		if e, ok := h.ownerEntry(r, owner, id); ok && e.Running {
			h.meterPod(r, before, e.Since, now)
		}
	}
	if action == "terminate" {
		if _, ok := h.upstreamCall(w, r, http.MethodDelete, "/pods/"+id, nil, http.StatusNoContent, http.StatusOK); ok {
			if known && podHolds(before.Status) {
				h.meterPod(r, before, since, now)
			}
			if capped {
				h.removePod(r, owner, id)
			}
			w.WriteHeader(http.StatusNoContent)
		}
		return nil
	}
	starting := action == "start" && known && !podHolds(before.Status)
	if capped && starting {
		if !h.reserve(w, r, owner, entryOf(podFields{ID: id, Status: "STARTING", GPU: before.GPU, Cost: before.Cost}, now)) {
			return nil
		}
	}
	payload, _ := json.Marshal(map[string]string{"action": action})
	resp, ok := h.upstreamCall(w, r, http.MethodPost, "/pods/"+id+"/action", payload, http.StatusOK)
	if !ok {
		if capped && starting {
			h.putPod(r, owner, entryOf(before, time.Time{}), "") // back to how it was
		}
		return nil
	}
	f, err := parsePod(resp.body)
	if err != nil {
		return h.badUpstream(w, r)
	}
	if action == "stop" && known && podHolds(before.Status) {
		h.meterPod(r, before, since, now)
		if capped {
			h.putPod(r, owner, entryOf(podFields{ID: id, Status: "EXITED", GPU: before.GPU, Cost: before.Cost}, time.Time{}), "")
		}
	}
	return writeBody(w, http.StatusOK, h.wrapPod(resp.body, f, owner))
}

// fetchOwned gets a pod and answers 404 when it is someone else's: a user
// cannot tell another user's pod from a missing one.
func (h *Handler) fetchOwned(w http.ResponseWriter, r *http.Request, owner, id string) ([]byte, podFields, bool) {
	resp, err := h.call(r, http.MethodGet, "/pods/"+id, nil)
	if err == nil && resp.status == http.StatusNotFound {
		// A pod that does not exist answers exactly like someone else's:
		// the same status, body and headers, so ids cannot be probed.
		h.metrics.observe(h.Mode, outcomeOf(resp.status))
		h.errors.Write(w, r, gwerror.Response{Type: gwerror.ResourceNotFound})
		return nil, podFields{}, false
	}
	resp, ok := h.checkCall(w, r, resp, err, http.StatusOK)
	if !ok {
		return nil, podFields{}, false
	}
	f, err := parsePod(resp.body)
	if err != nil {
		_ = h.badUpstream(w, r)
		return nil, podFields{}, false
	}
	if !h.owns(f, owner) {
		h.errors.Write(w, r, gwerror.Response{Type: gwerror.ResourceNotFound})
		return nil, podFields{}, false
	}
	return resp.body, f, true
}

// upstreamCall calls RunPod and reports whether it answered one of the
// expected statuses; otherwise it has written the mapped error.
func (h *Handler) upstreamCall(w http.ResponseWriter, r *http.Request, method, path string, body []byte, want ...int) (*apiResponse, bool) {
	resp, err := h.call(r, method, path, body)
	return h.checkCall(w, r, resp, err, want...)
}

// checkCall is upstreamCall's check of a call's answer.
func (h *Handler) checkCall(w http.ResponseWriter, r *http.Request, resp *apiResponse, err error, want ...int) (*apiResponse, bool) {
	if err != nil {
		mapped := h.upstream.Failed(err)
		h.metrics.observe(h.Mode, outcomeFor(mapped))
		h.errors.Write(w, r, mapped)
		return nil, false
	}
	h.metrics.observe(h.Mode, outcomeOf(resp.status))
	for _, s := range want {
		if resp.status == s {
			return resp, true
		}
	}
	if resp.status < http.StatusBadRequest {
		_ = h.badUpstream(w, r)
		return nil, false
	}
	h.errors.Write(w, r, h.upstreamError(resp.status, resp.header, resp.body))
	return nil, false
}

// badUpstream answers 502 for an answer RunPod should not have given.
func (h *Handler) badUpstream(w http.ResponseWriter, r *http.Request) error {
	h.errors.Write(w, r, gwerror.Response{Type: gwerror.IntegrationFailure})
	return nil
}

// writeBody writes a JSON response body.
func writeBody(w http.ResponseWriter, status int, b []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, err := w.Write(b)
	return err
}
