package runpod

import (
	"encoding/json"
	"strings"
)

// pod is a RunPod v2 Pod object kept field for field: the gateway reads a
// few fields and adds desiredStatus, everything else passes unchanged.
type pod map[string]json.RawMessage

// str returns a string field, or "".
func (p pod) str(field string) string {
	var s string
	_ = json.Unmarshal(p[field], &s)
	return s
}

// env returns the pod's env map (nil when absent).
func (p pod) env() map[string]string {
	var m map[string]string
	_ = json.Unmarshal(p["env"], &m)
	return m
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

// present prepares p for the client: adds desiredStatus and, with the name
// owner tag, removes the owner prefix from the name.
func (h *Handler) present(p pod, owner string) pod {
	ds, _ := json.Marshal(desiredStatus(p.str("status")))
	p["desiredStatus"] = ds
	if h.OwnerTag == OwnerTagName && owner != "" {
		if name, ok := strings.CutPrefix(p.str("name"), namePrefix(owner)); ok {
			p["name"], _ = json.Marshal(name)
		}
	}
	return p
}
