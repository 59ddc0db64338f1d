package runpod

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// podFields are the few fields of a RunPod v2 Pod the gateway reads. The
// pod itself passes to the client byte for byte (every v2 field kept), with
// desiredStatus added.
type podFields struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	// Env is the pod's env, decoded as a map so that the owner is read by
	// its exact name: a struct tag would match keys case-insensitively
	// (encoding/json), letting a pod created with env gpugate_owner=bob
	// pass as bob's.
	Env map[string]json.RawMessage `json:"env"`
	// Owner is Env[OwnerEnvName] when it is a string, else "".
	Owner string `json:"-"`
	// GPU, Cost (USD per hour) and StartedAt are read for the pod caps and
	// the pod meter.
	GPU *struct {
		ID    string `json:"id"`
		Count int    `json:"count"`
	} `json:"gpu"`
	Cost      float64    `json:"cost"`
	StartedAt *time.Time `json:"startedAt"`
}

// parsePod reads the gateway's fields of a raw pod object.
func parsePod(raw []byte) (podFields, error) {
	var f podFields
	if err := json.Unmarshal(raw, &f); err != nil {
		return f, err
	}
	if v, ok := f.Env[OwnerEnvName]; ok && json.Unmarshal(v, &f.Owner) != nil {
		f.Owner = "" // not a string: nobody's
	}
	return f, nil
}

// desiredStatus is what runpod-python clients read: CREATED while the pod
// is PROVISIONING or STARTING, so that polling for RUNNING waits until it
// really runs; RUNNING; EXITED (also for ERROR); TERMINATED.
func desiredStatus(status string) string {
	switch status {
	case "PROVISIONING", "STARTING":
		return "CREATED"
	case "ERROR":
		return "EXITED"
	default:
		return status
	}
}

// appendPresented appends the client's view of a raw pod to dst: the v2
// object with desiredStatus added and, with owner_tag name, the owner
// prefix removed from the name.
func (h *Handler) appendPresented(dst []byte, raw []byte, f podFields, owner string) []byte {
	raw = bytes.TrimSpace(raw)
	stripName := h.OwnerTag == OwnerTagName && owner != "" && strings.HasPrefix(f.Name, namePrefix(owner))
	ds := desiredStatus(f.Status)
	if stripName || !isStatusWord(ds) || len(raw) < 2 || raw[len(raw)-1] != '}' || bytes.Contains(raw, []byte(`"desiredStatus"`)) {
		return h.appendPresentedSlow(dst, raw, f, owner, stripName)
	}
	dst = append(dst, raw[:len(raw)-1]...)
	if len(bytes.TrimSpace(raw[1:len(raw)-1])) > 0 {
		dst = append(dst, ',')
	}
	dst = append(dst, `"desiredStatus":"`...)
	dst = append(dst, ds...)
	return append(dst, `"}`...)
}

// isStatusWord reports whether s is a status such as RUNNING (A-Z and _),
// which needs no JSON escaping.
func isStatusWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < 'A' || s[i] > 'Z') && s[i] != '_' {
			return false
		}
	}
	return true
}

// appendPresentedSlow rebuilds the object through a map, for the rare
// cases the fast splice cannot handle.
func (h *Handler) appendPresentedSlow(dst []byte, raw []byte, f podFields, owner string, stripName bool) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		m = map[string]json.RawMessage{}
	}
	m["desiredStatus"], _ = json.Marshal(desiredStatus(f.Status))
	if stripName {
		m["name"], _ = json.Marshal(strings.TrimPrefix(f.Name, namePrefix(owner)))
	}
	b, _ := json.Marshal(m)
	return append(dst, b...)
}

// translateList turns a v2 list answer {"pods":[...]} into the old
// contract's JSON array of the owner's pods.
func (h *Handler) translateList(body []byte, owner string) ([]byte, []podFields, error) {
	var list struct {
		Pods []json.RawMessage `json:"pods"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, nil, err
	}
	var owned []podFields
	out := make([]byte, 0, len(body)+len(list.Pods)*32+2)
	out = append(out, '[')
	n := 0
	for _, raw := range list.Pods {
		f, err := parsePod(raw)
		if err != nil {
			return nil, nil, err
		}
		if !h.owns(f, owner) {
			continue
		}
		owned = append(owned, f)
		if n > 0 {
			out = append(out, ',')
		}
		out = h.appendPresented(out, raw, f, owner)
		n++
	}
	return append(out, ']', '\n'), owned, nil
}

// wrapPod returns {"pod":<presented pod>}.
func (h *Handler) wrapPod(raw []byte, f podFields, owner string) []byte {
	out := make([]byte, 0, len(raw)+48)
	out = append(out, `{"pod":`...)
	out = h.appendPresented(out, raw, f, owner)
	return append(out, '}', '\n')
}
