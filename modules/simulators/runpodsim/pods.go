package runpodsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"
)

// Pod is RunPod's v2 Pod object.
type Pod struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Status           string            `json:"status"`
	Actions          []string          `json:"actions"`
	Image            string            `json:"image"`
	Args             string            `json:"args,omitempty"`
	Disk             int               `json:"disk"`
	Mounts           []json.RawMessage `json:"mounts"`
	Ports            []string          `json:"ports"`
	Env              map[string]string `json:"env"`
	Registry         json.RawMessage   `json:"registry"`
	Cloud            string            `json:"cloud"`
	DataCenterID     string            `json:"dataCenterId"`
	CudaVersion      string            `json:"cudaVersion"`
	SSH              json.RawMessage   `json:"ssh"`
	Template         json.RawMessage   `json:"template"`
	Cost             float64           `json:"cost"`
	Locked           bool              `json:"locked"`
	Runtime          *Runtime          `json:"runtime"`
	CreatedAt        time.Time         `json:"createdAt"`
	StartedAt        *time.Time        `json:"startedAt"`
	GlobalNetworking bool              `json:"globalNetworking"`
	GPU              *GPU              `json:"gpu,omitempty"`
	CPU              json.RawMessage   `json:"cpu,omitempty"`
}

// GPU is a pod's GPU request.
type GPU struct {
	ID                  string   `json:"id"`
	Count               int      `json:"count"`
	AllowedCudaVersions []string `json:"allowedCudaVersions,omitempty"`
	MinCudaVersion      string   `json:"minCudaVersion,omitempty"`
}

// Runtime is set while a pod is RUNNING.
type Runtime struct {
	UptimeInSeconds int `json:"uptimeInSeconds"`
}

// Pod states.
const (
	Provisioning = "PROVISIONING"
	Starting     = "STARTING"
	Running      = "RUNNING"
	Exited       = "EXITED"
	Error        = "ERROR"
	Terminated   = "TERMINATED"
)

// allowedActions lists the lifecycle actions each state allows.
var allowedActions = map[string][]string{
	Provisioning: {"stop", "terminate"},
	Starting:     {"stop", "terminate"},
	Running:      {"stop", "restart", "terminate"},
	Exited:       {"start", "terminate"},
	Error:        {"start", "terminate"},
}

// gpuCatalog is GET /v2/catalog/gpus; creates must name one of these ids.
var gpuCatalog = []map[string]any{
	{"id": "NVIDIA GeForce RTX 4090", "displayName": "RTX 4090", "memoryInGb": 24, "costPerHour": 0.69},
	{"id": "NVIDIA RTX A6000", "displayName": "RTX A6000", "memoryInGb": 48, "costPerHour": 0.79},
	{"id": "NVIDIA A100 80GB PCIe", "displayName": "A100 PCIe", "memoryInGb": 80, "costPerHour": 1.64},
	{"id": "NVIDIA H100 80GB HBM3", "displayName": "H100 SXM", "memoryInGb": 80, "costPerHour": 2.99},
}

// pod is a simulated pod: its public object plus when its state began.
type pod struct {
	Pod
	since time.Time
}

// advance moves p along PROVISIONING -> STARTING -> RUNNING as time passes.
func (s *Server) advance(p *pod, now time.Time) {
	if p.Status == Provisioning && now.Sub(p.since) >= s.opts.ProvisionDelay {
		p.Status, p.since = Starting, p.since.Add(s.opts.ProvisionDelay)
	}
	if p.Status == Starting && now.Sub(p.since) >= s.opts.StartDelay {
		p.Status, p.since = Running, p.since.Add(s.opts.StartDelay)
		started := p.since
		p.StartedAt = &started
	}
	if p.Status == Running {
		p.Runtime = &Runtime{UptimeInSeconds: int(now.Sub(p.since) / time.Second)}
	} else {
		p.Runtime = nil
	}
	p.Actions = append([]string{}, allowedActions[p.Status]...)
}

// snapshot returns the current public view of p. Call with s.mu held.
func (s *Server) snapshot(p *pod) Pod {
	s.advance(p, s.now())
	out := p.Pod
	out.Env = make(map[string]string, len(p.Env))
	for k, v := range p.Env {
		out.Env[k] = v
	}
	return out
}

// servePods serves /v2/pods and /v2/pods/{id}[/action|/logs].
func (s *Server) servePods(w http.ResponseWriter, r *http.Request, parts []string) {
	switch {
	case len(parts) == 0 && r.Method == http.MethodGet:
		s.listPods(w)
	case len(parts) == 0 && r.Method == http.MethodPost:
		s.createPod(w, r)
	case len(parts) == 1 && r.Method == http.MethodGet:
		s.withPod(w, parts[0], func(p *pod) { writeJSON(w, http.StatusOK, s.snapshot(p)) })
	case len(parts) == 1 && r.Method == http.MethodPatch:
		s.updatePod(w, r, parts[0])
	case len(parts) == 1 && r.Method == http.MethodDelete:
		s.podAction(w, parts[0], "terminate")
	case len(parts) == 2 && parts[1] == "action" && r.Method == http.MethodPost:
		var body struct {
			Action string `json:"action"`
		}
		if err := strictDecode(r, &body); err != nil {
			writeProblem(w, http.StatusUnprocessableEntity, "request body failed validation", err.Error())
			return
		}
		if !slices.Contains([]string{"start", "stop", "restart", "terminate"}, body.Action) {
			writeProblem(w, http.StatusUnprocessableEntity, "request body failed validation",
				`action must be one of "start", "stop", "restart", "terminate"`)
			return
		}
		s.podAction(w, parts[0], body.Action)
	case len(parts) == 2 && parts[1] == "logs" && r.Method == http.MethodGet:
		s.streamLogs(w, r, parts[0])
	case len(parts) <= 2:
		w.Header().Set("Allow", "GET, POST, PATCH, DELETE")
		writeProblem(w, http.StatusMethodNotAllowed, "method not allowed")
	default:
		writeProblem(w, http.StatusNotFound, "resource not found")
	}
}

func (s *Server) listPods(w http.ResponseWriter) {
	s.mu.Lock()
	pods := make([]Pod, 0, len(s.podOrder))
	for _, id := range s.podOrder {
		pods = append(pods, s.snapshot(s.pods[id]))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"pods": pods})
}

// withPod runs fn with the pod id under the lock, or answers 404.
func (s *Server) withPod(w http.ResponseWriter, id string, fn func(p *pod)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pods[id]
	if !ok {
		writeProblem(w, http.StatusNotFound, "resource not found")
		return
	}
	fn(p)
}

// createBody is the v2 create schema; unknown fields are rejected.
type createBody struct {
	Name                string            `json:"name"`
	Image               string            `json:"image"`
	TemplateID          string            `json:"templateId"`
	GPU                 *GPU              `json:"gpu"`
	CPU                 json.RawMessage   `json:"cpu"`
	Cloud               string            `json:"cloud"`
	DataCenterIDs       []string          `json:"dataCenterIds"`
	Disk                int               `json:"disk"`
	Args                string            `json:"args"`
	Env                 map[string]string `json:"env"`
	Ports               []string          `json:"ports"`
	Registry            json.RawMessage   `json:"registry"`
	Mounts              []json.RawMessage `json:"mounts"`
	GlobalNetworking    bool              `json:"globalNetworking"`
	StartSSH            bool              `json:"startSsh"`
	StartJupyter        bool              `json:"startJupyter"`
	AllowedCudaVersions []string          `json:"allowedCudaVersions"`
}

// strictDecode decodes r's JSON body into v, rejecting unknown fields.
func strictDecode(r *http.Request, v any) error {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r.Body)
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (s *Server) createPod(w http.ResponseWriter, r *http.Request) {
	var b createBody
	if err := strictDecode(r, &b); err != nil {
		writeProblem(w, http.StatusUnprocessableEntity, "request body failed validation", err.Error())
		return
	}
	var errs []string
	if b.Name == "" {
		errs = append(errs, "name is required")
	}
	if b.Image == "" && b.TemplateID == "" {
		errs = append(errs, "image is required unless templateId is set")
	}
	if (b.GPU == nil) == (b.CPU == nil) {
		errs = append(errs, "exactly one of gpu or cpu is required")
	}
	if b.GPU != nil && b.GPU.ID == "" {
		errs = append(errs, "gpu.id is required")
	}
	if b.Cloud != "" && b.Cloud != "SECURE" && b.Cloud != "COMMUNITY" {
		errs = append(errs, "cloud must be SECURE or COMMUNITY")
	}
	if len(errs) > 0 {
		writeProblem(w, http.StatusUnprocessableEntity, "request body failed validation", errs...)
		return
	}
	if b.GPU != nil && !knownGPU(b.GPU.ID) {
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("no capacity for GPU type %q", b.GPU.ID))
		return
	}
	now := s.now()
	p := &pod{since: now, Pod: Pod{Name: b.Name, Status: Provisioning, Image: b.Image, Args: b.Args,
		Disk: b.Disk, Mounts: b.Mounts, Ports: b.Ports, Env: b.Env, Registry: b.Registry, Cloud: b.Cloud,
		DataCenterID: "EU-RO-1", CudaVersion: "12.4", CreatedAt: now.UTC(), GlobalNetworking: b.GlobalNetworking,
		CPU: b.CPU}}
	if p.Disk == 0 {
		p.Disk = 20
	}
	if p.Cloud == "" {
		p.Cloud = "SECURE"
	}
	if p.Ports == nil {
		p.Ports = []string{}
	}
	if p.Mounts == nil {
		p.Mounts = []json.RawMessage{}
	}
	if len(b.DataCenterIDs) > 0 {
		p.DataCenterID = b.DataCenterIDs[0]
	}
	if b.GPU != nil {
		g := *b.GPU
		if g.Count == 0 {
			g.Count = 1
		}
		p.GPU = &g
		p.Cost = gpuCost(g.ID) * float64(g.Count)
	}
	s.mu.Lock()
	p.ID = s.newID()
	s.pods[p.ID] = p
	s.podOrder = append(s.podOrder, p.ID)
	out := s.snapshot(p)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

func knownGPU(id string) bool { return gpuCost(id) > 0 }

func gpuCost(id string) float64 {
	for _, g := range gpuCatalog {
		if g["id"] == id {
			return g["costPerHour"].(float64)
		}
	}
	return 0
}

func (s *Server) updatePod(w http.ResponseWriter, r *http.Request, id string) {
	var b struct {
		Name  *string           `json:"name"`
		Image *string           `json:"image"`
		Env   map[string]string `json:"env"`
		Ports []string          `json:"ports"`
		Disk  *int              `json:"disk"`
	}
	if err := strictDecode(r, &b); err != nil {
		writeProblem(w, http.StatusUnprocessableEntity, "request body failed validation", err.Error())
		return
	}
	s.withPod(w, id, func(p *pod) {
		if b.Name != nil {
			p.Name = *b.Name
		}
		if b.Image != nil {
			p.Image = *b.Image
		}
		if b.Env != nil {
			p.Env = b.Env
		}
		if b.Ports != nil {
			p.Ports = b.Ports
		}
		if b.Disk != nil {
			p.Disk = *b.Disk
		}
		writeJSON(w, http.StatusOK, s.snapshot(p))
	})
}

// podAction applies a lifecycle action: 409 when the pod's state does not
// allow it, 204 for terminate (the pod disappears), 200 Pod otherwise.
func (s *Server) podAction(w http.ResponseWriter, id, action string) {
	s.withPod(w, id, func(p *pod) {
		s.advance(p, s.now())
		if !slices.Contains(p.Actions, action) {
			writeProblem(w, http.StatusConflict, fmt.Sprintf("action %q is not allowed while the pod is %s", action, p.Status))
			return
		}
		now := s.now()
		switch action {
		case "terminate":
			delete(s.pods, id)
			s.podOrder = slices.DeleteFunc(s.podOrder, func(x string) bool { return x == id })
			w.WriteHeader(http.StatusNoContent)
			return
		case "stop":
			p.Status, p.since = Exited, now
		case "start", "restart":
			p.Status, p.since, p.StartedAt = Starting, now, nil
		}
		writeJSON(w, http.StatusOK, s.snapshot(p))
	})
}

// streamLogs answers text/event-stream, one event per log line, flushed as
// written with Options.LogInterval between lines.
func (s *Server) streamLogs(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	_, ok := s.pods[id]
	s.mu.Unlock()
	if !ok {
		writeProblem(w, http.StatusNotFound, "resource not found")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for i := range s.opts.LogLines {
		if i > 0 {
			select {
			case <-time.After(s.opts.LogInterval):
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprintf(w, "data: log line %d of pod %s\n\n", i+1, id)
		_ = rc.Flush()
	}
}

// Pods returns the current pods, sorted by id (for tests).
func (s *Server) Pods() []Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Pod, 0, len(s.pods))
	for _, p := range s.pods {
		out = append(out, s.snapshot(p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
