package runpodsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
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
	Mounts           Mounts            `json:"mounts"`
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
	GlobalNetworking GlobalNetworking  `json:"globalNetworking"`
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

// Mounts are a pod's volumes: a persistent volume of the pod, network
// volumes, or neither ({}).
type Mounts struct {
	Persistent *PersistentMount `json:"persistent,omitempty"`
	Network    []NetworkMount   `json:"network,omitempty"`
}

// PersistentMount is the pod's own volume: size in GB and mount path.
type PersistentMount struct {
	Size int    `json:"size"`
	Path string `json:"path"`
}

// NetworkMount attaches a network volume at a path.
type NetworkMount struct {
	VolumeID string `json:"volumeId"`
	Path     string `json:"path"`
}

// GlobalNetworking is a pod's private network: when enabled, its address
// and internal DNS name.
type GlobalNetworking struct {
	Enabled     bool   `json:"enabled"`
	IP          string `json:"ip,omitempty"`
	InternalDNS string `json:"internalDns,omitempty"`
}

// Runtime is set while a pod is RUNNING: uptime in seconds, utilisation and
// the port mappings.
type Runtime struct {
	Uptime int              `json:"uptime"`
	CPU    Utilization      `json:"cpu"`
	Memory Utilization      `json:"memory"`
	GPUs   []GPUUtilization `json:"gpus"`
	Ports  []RuntimePort    `json:"ports"`
}

// Utilization is a percentage in use.
type Utilization struct {
	Util int `json:"util"`
}

// GPUUtilization is one GPU's compute and memory use in percent.
type GPUUtilization struct {
	Util       int `json:"util"`
	MemoryUtil int `json:"memoryUtil"`
}

// RuntimePort maps one of the pod's ports: TCP ports on a public address,
// HTTP ports behind RunPod's proxy.
type RuntimePort struct {
	IP      string `json:"ip"`
	Private int    `json:"private"`
	Public  int    `json:"public"`
	Type    string `json:"type"`
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
		p.Runtime = runtimeOf(p, now)
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
	Mounts              *Mounts           `json:"mounts"`
	GlobalNetworking    json.RawMessage   `json:"globalNetworking"`
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
	errs = append(errs, checkMounts(b.Mounts)...)
	networking, err := parseGlobalNetworking(b.GlobalNetworking)
	if err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		writeProblem(w, http.StatusUnprocessableEntity, "request body failed validation", errs...)
		return
	}
	var gpuInfo GPUType
	if b.GPU != nil {
		var ok bool
		if gpuInfo, ok = gpuType(b.GPU.ID); !ok {
			writeProblem(w, http.StatusBadRequest, fmt.Sprintf("unknown GPU type %q; GET /v2/catalog/gpus lists the ids", b.GPU.ID))
			return
		}
		if slices.Contains(s.opts.NoCapacity, b.GPU.ID) {
			writeProblem(w, http.StatusBadRequest, fmt.Sprintf("no capacity for GPU type %q in the requested cloud and data centers", b.GPU.ID))
			return
		}
	}
	now := s.now()
	p := &pod{since: now, Pod: Pod{Name: b.Name, Status: Provisioning, Image: b.Image, Args: b.Args,
		Disk: b.Disk, Ports: b.Ports, Env: b.Env, Registry: b.Registry, Cloud: b.Cloud,
		DataCenterID: "EU-RO-1", CudaVersion: "12.4", CreatedAt: now.UTC(), CPU: b.CPU}}
	if b.Mounts != nil {
		p.Mounts = *b.Mounts
	}
	if p.Disk == 0 {
		p.Disk = 20
	}
	if p.Cloud == "" {
		p.Cloud = "SECURE"
	}
	if p.Ports == nil {
		p.Ports = []string{}
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
		p.Cost = gpuInfo.CostPerHour * float64(g.Count)
	}
	s.mu.Lock()
	p.ID = s.newID()
	if networking {
		p.GlobalNetworking = GlobalNetworking{Enabled: true, IP: fmt.Sprintf("10.0.%d.%d", s.nextID/250%250, s.nextID%250+2),
			InternalDNS: p.ID + ".runpod.internal"}
	}
	s.pods[p.ID] = p
	s.podOrder = append(s.podOrder, p.ID)
	out := s.snapshot(p)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// checkMounts validates the create body's mounts object.
func checkMounts(m *Mounts) []string {
	if m == nil {
		return nil
	}
	var errs []string
	if v := m.Persistent; v != nil && (v.Size < 1 || !strings.HasPrefix(v.Path, "/")) {
		errs = append(errs, "mounts.persistent needs a size (GB, at least 1) and an absolute path")
	}
	for i, n := range m.Network {
		if n.VolumeID == "" || !strings.HasPrefix(n.Path, "/") {
			errs = append(errs, fmt.Sprintf("mounts.network[%d] needs a volumeId and an absolute path", i))
		}
	}
	return errs
}

// parseGlobalNetworking reads the create body's globalNetworking, written
// either as {"enabled": bool} (the shape pods report) or as a bare bool.
func parseGlobalNetworking(raw json.RawMessage) (bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	var enabled bool
	if json.Unmarshal(raw, &enabled) == nil {
		return enabled, nil
	}
	var obj struct {
		Enabled bool `json:"enabled"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&obj); err != nil {
		return false, fmt.Errorf("globalNetworking must be {\"enabled\": true|false}")
	}
	return obj.Enabled, nil
}

// runtimeOf is the runtime block of a RUNNING pod at now: uptime since it
// reached RUNNING, idle utilisation, and one mapping per exposed port.
func runtimeOf(p *pod, now time.Time) *Runtime {
	rt := &Runtime{Uptime: int(now.Sub(p.since) / time.Second), GPUs: []GPUUtilization{}, Ports: []RuntimePort{}}
	if p.GPU != nil {
		rt.GPUs = make([]GPUUtilization, p.GPU.Count)
	}
	for i, port := range p.Ports {
		number, kind, _ := strings.Cut(port, "/")
		private, err := strconv.Atoi(number)
		if err != nil {
			continue
		}
		mapped := RuntimePort{IP: "100.65.0.2", Private: private, Public: private, Type: kind}
		if kind == "tcp" {
			// 203.0.113.0/24 is a documentation range: never a real host.
			mapped.IP, mapped.Public = "203.0.113.10", 40000+i
		}
		rt.Ports = append(rt.Ports, mapped)
	}
	return rt
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
