package runpod

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gpugate/gpugate/modules/internal/upstream"
)

// Modes of the runpod handler.
const (
	// ModePods translates the old client pod API onto RunPod v2.
	ModePods = "pods"
	// ModeAPI passes requests through to the RunPod v2 management API.
	ModeAPI = "api"
	// ModeServerless passes /jobs/<alias>/<operation> through to the
	// Serverless job API of the aliased endpoint.
	ModeServerless = "serverless"
)

// Owner tag kinds.
const (
	// OwnerTagEnv records the owner in the pod's env (OwnerEnvName).
	OwnerTagEnv = "env"
	// OwnerTagName prefixes the pod's name with "<owner>/".
	OwnerTagName = "name"
)

// OwnerEnvName is the pod env entry that holds the owner with owner_tag env.
const OwnerEnvName = "GPUGATE_OWNER"

// Default upstream base URLs and timeouts.
const (
	DefaultBaseURL           = "https://api.runpod.io/v2"
	DefaultServerlessURL     = "https://api.runpod.ai/v2"
	DefaultTimeout           = 30 * time.Second
	DefaultServerlessTimeout = 120 * time.Second
	DefaultConnectTimeout    = 10 * time.Second
)

// RunPod's request body limits (its Serverless documentation): /runsync
// takes 20 MB, /run and the other calls 10 MB. They are the default
// max_body.
const (
	DefaultMaxBody        = 10 << 20
	DefaultRunsyncMaxBody = 20 << 20
)

// maxBodyFor is the body limit of a pass-through call of operation (empty
// outside serverless mode).
func (h *Handler) maxBodyFor(operation string) int64 {
	switch {
	case h.MaxBody > 0:
		return h.MaxBody
	case operation == "runsync":
		return DefaultRunsyncMaxBody
	default:
		return DefaultMaxBody
	}
}

// CreateDefaults are operator-set values for pod create fields the client
// left out (mode pods).
type CreateDefaults struct {
	Image    string `json:"image,omitempty"`
	GPUType  string `json:"gpu_type,omitempty"`
	GPUCount int    `json:"gpu_count,omitempty"`
	Cloud    string `json:"cloud,omitempty"`
	Disk     int    `json:"disk,omitempty"`
}

// endpointIDPattern is what a RunPod Serverless endpoint id or alias looks like.
var endpointIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// validateConfig checks h's configuration without side effects; messages
// name the runpod subdirective and say what to write instead. The
// Caddyfile adapter runs it after reading the block (which checked the
// api_key placeholder as it read it); Validate adds that check for JSON
// configs.
func (h *Handler) validateConfig() error {
	switch h.Mode {
	case ModePods, ModeAPI, ModeServerless:
	case "":
		return fmt.Errorf("runpod: no mode; write `runpod pods`, `runpod api` or `runpod serverless`")
	default:
		return fmt.Errorf("runpod: unknown mode %q; write pods, api or serverless", h.Mode)
	}
	if h.APIKey == "" {
		return fmt.Errorf("runpod: api_key is required; write e.g. `api_key {env.RUNPOD_API_KEY}` or `api_key {file./run/secrets/runpod}`")
	}
	for _, u := range [...][2]string{{"base_url", h.BaseURL}, {"serverless_url", h.ServerlessURL}} {
		if strings.Contains(u[1], "{") {
			continue // checked once resolved, at provision time
		}
		if err := checkBaseURL(u[0], u[1]); err != nil {
			return err
		}
	}
	if h.Timeout < 0 || h.ConnectTimeout < 0 {
		return fmt.Errorf("runpod: timeout and connect_timeout must be positive durations, e.g. `timeout 30s`")
	}
	if h.MaxBody < 0 {
		return fmt.Errorf("runpod: max_body must be a positive size, e.g. `max_body 10MB`")
	}
	if h.Mode == ModePods && h.MaxBody > 0 {
		return fmt.Errorf("runpod pods: max_body is for modes api and serverless (a pod create body is at most 256 KiB); remove it")
	}
	if h.Mode == ModeServerless && len(h.Endpoints) == 0 {
		return fmt.Errorf("runpod serverless: no endpoints; write `endpoint <alias> <endpoint-id>` for each Serverless endpoint")
	}
	if h.Mode != ModeServerless && len(h.Endpoints) > 0 {
		return fmt.Errorf("runpod %s: endpoint is only for mode serverless; remove it or write `runpod serverless`", h.Mode)
	}
	for alias, id := range h.Endpoints {
		if !endpointIDPattern.MatchString(alias) || !endpointIDPattern.MatchString(id) {
			return fmt.Errorf("runpod: endpoint %q %q: alias and id must be letters, digits, '-' or '_'", alias, id)
		}
	}
	podOnly := len(h.AllowImages) > 0 || len(h.AllowGPUTypes) > 0 || h.Defaults != nil || h.OwnerTag != "" || h.hasCaps()
	if h.Mode != ModePods && podOnly {
		return fmt.Errorf("runpod %s: allow_images, allow_gpu_types, default, owner_tag and max_pods, max_gpus, max_usd_per_hour apply to mode pods only; write `runpod pods` or remove them", h.Mode)
	}
	if h.Mode == ModeAPI && h.OwnerClaim != "" {
		return fmt.Errorf("runpod api: owner_claim applies to modes pods and serverless; mode api is the whole account (admins only)")
	}
	if h.AdminScope != "" && (h.Mode != ModeServerless || h.OwnerClaim == "") {
		return fmt.Errorf("runpod: admin_scope goes with `runpod serverless` and owner_claim; write e.g. `owner_claim sub` and `admin_scope runpod:admin`")
	}
	if h.MaxPods < 0 || h.MaxGPUs < 0 || h.MaxUSDPerHour < 0 {
		return fmt.Errorf("runpod: max_pods, max_gpus and max_usd_per_hour must be positive (omit them for no cap)")
	}
	if h.hasCaps() && h.OwnerClaim == "" {
		return fmt.Errorf("runpod pods: max_pods, max_gpus and max_usd_per_hour are per owner; add `owner_claim sub` and `owner_tag env`")
	}
	for _, g := range h.AllowImages {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("runpod: allow_images %q is not a valid glob (path.Match syntax, e.g. runpod/*)", g)
		}
	}
	if h.Mode == ModePods && (h.OwnerClaim == "") != (h.OwnerTag == "") {
		return fmt.Errorf("runpod: owner_claim and owner_tag go together; write e.g. `owner_claim sub` and `owner_tag env`")
	}
	if h.OwnerTag != "" && h.OwnerTag != OwnerTagEnv && h.OwnerTag != OwnerTagName {
		return fmt.Errorf("runpod: owner_tag %q: write `owner_tag env` or `owner_tag name`", h.OwnerTag)
	}
	if d := h.Defaults; d != nil {
		if d.GPUCount < 0 || d.GPUCount > maxGPUCount {
			return fmt.Errorf("runpod: default gpu_count must be 1..%d", maxGPUCount)
		}
		if d.Cloud != "" && d.Cloud != "SECURE" && d.Cloud != "COMMUNITY" {
			return fmt.Errorf("runpod: default cloud must be SECURE or COMMUNITY")
		}
		if d.Disk < 0 || d.Disk > maxDiskGB {
			return fmt.Errorf("runpod: default disk must be 1..%d (GB)", maxDiskGB)
		}
	}
	return nil
}

// checkBaseURL accepts an empty value (the default) or an absolute http(s)
// URL without query or fragment, whose path has no dot segments or
// encoded slashes.
func checkBaseURL(name, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Errorf("runpod: %s %q must be an absolute http(s) URL such as https://api.runpod.io/v2", name, raw)
	}
	if _, err := upstream.SplitPath(u.EscapedPath()); err != nil {
		return fmt.Errorf("runpod: %s %q: %v", name, raw, err)
	}
	return nil
}

// durationOr returns d, or def when d is zero.
func durationOr(d caddy.Duration, def time.Duration) time.Duration {
	if d > 0 {
		return time.Duration(d)
	}
	return def
}
