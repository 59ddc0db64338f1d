package runpod

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Limits of the client create body.
const (
	maxGPUCount   = 8
	maxDiskGB     = 4096
	maxNameLength = 128
	maxEnvEntries = 100
	maxCreateBody = 256 << 10
)

// createFields are the fields the client create body accepts.
var createFields = []string{"name", "image", "gpu_type", "gpu_count", "cloud", "disk", "env", "ports", "dataCenterIds"}

var (
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	portPattern    = regexp.MustCompile(`^([0-9]{1,5})/(http|tcp)$`)
)

// v2Create is the RunPod v2 create body the gateway sends.
type v2Create struct {
	Name          string            `json:"name"`
	Image         string            `json:"image"`
	GPU           v2GPU             `json:"gpu"`
	Cloud         string            `json:"cloud,omitempty"`
	Disk          int               `json:"disk,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	Ports         []string          `json:"ports,omitempty"`
	DataCenterIDs []string          `json:"dataCenterIds,omitempty"`
}

type v2GPU struct {
	ID    string `json:"id"`
	Count int    `json:"count"`
}

// badField is a validation failure naming the field, shown to the client.
type badField struct{ msg string }

func (e badField) Error() string { return e.msg }

func fieldErr(format string, args ...any) error { return badField{fmt.Sprintf(format, args...)} }

// buildCreate validates the client's create body, applies the operator's
// defaults and allow-lists, tags the owner, and returns the v2 body. Every
// error is a badField whose message names the field.
func (h *Handler) buildCreate(body []byte, owner string) (*v2Create, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil || dec.More() {
		return nil, fieldErr("request body must be a JSON object with name, image and gpu_type")
	}
	for name := range fields {
		if !slices.Contains(createFields, name) {
			return nil, fieldErr("unknown field %q; accepted fields: %s", name, strings.Join(createFields, ", "))
		}
	}
	c := &v2Create{GPU: v2GPU{Count: 1}}
	d := h.Defaults
	if d == nil {
		d = &CreateDefaults{}
	}
	c.Image, c.GPU.ID, c.Cloud, c.Disk = d.Image, d.GPUType, d.Cloud, d.Disk
	if d.GPUCount > 0 {
		c.GPU.Count = d.GPUCount
	}
	steps := []struct {
		field string
		into  any
	}{
		{"name", &c.Name}, {"image", &c.Image}, {"gpu_type", &c.GPU.ID}, {"gpu_count", &c.GPU.Count},
		{"cloud", &c.Cloud}, {"disk", &c.Disk}, {"env", &c.Env}, {"ports", &c.Ports}, {"dataCenterIds", &c.DataCenterIDs},
	}
	for _, s := range steps {
		raw, ok := fields[s.field]
		if !ok || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, s.into); err != nil {
			return nil, fieldErr("field %q must be %s", s.field, fieldKind(s.field))
		}
	}
	if err := h.checkCreate(c, owner); err != nil {
		return nil, err
	}
	if owner != "" {
		switch h.OwnerTag {
		case OwnerTagName:
			c.Name = namePrefix(owner) + c.Name
		default:
			if c.Env == nil {
				c.Env = map[string]string{}
			}
			c.Env[OwnerEnvName] = owner
		}
	}
	return c, nil
}

// fieldKind describes a field's expected JSON type.
func fieldKind(field string) string {
	switch field {
	case "gpu_count", "disk":
		return "an integer"
	case "env":
		return "an object of string values"
	case "ports", "dataCenterIds":
		return "an array of strings"
	default:
		return "a string"
	}
}

// checkCreate enforces required fields, value rules and allow-lists.
func (h *Handler) checkCreate(c *v2Create, owner string) error {
	switch {
	case strings.TrimSpace(c.Name) == "":
		return fieldErr(`field "name" is required`)
	case len(c.Name) > maxNameLength || strings.ContainsFunc(c.Name, isControl):
		return fieldErr(`field "name" must be at most %d printable characters`, maxNameLength)
	case c.Image == "":
		return fieldErr(`field "image" is required`)
	case strings.ContainsFunc(c.Image, isSpaceOrControl) || len(c.Image) > 512:
		return fieldErr(`field "image" must be a container image reference such as runpod/pytorch:2.4.0`)
	case c.GPU.ID == "":
		return fieldErr(`field "gpu_type" is required (a RunPod GPU type id such as "NVIDIA GeForce RTX 4090")`)
	case c.GPU.Count < 1 || c.GPU.Count > maxGPUCount:
		return fieldErr(`field "gpu_count" must be between 1 and %d`, maxGPUCount)
	case c.Cloud != "" && c.Cloud != "SECURE" && c.Cloud != "COMMUNITY":
		return fieldErr(`field "cloud" must be "SECURE" or "COMMUNITY"`)
	case c.Disk < 0 || c.Disk > maxDiskGB:
		return fieldErr(`field "disk" must be between 1 and %d (GB)`, maxDiskGB)
	case len(c.Env) > maxEnvEntries:
		return fieldErr(`field "env" has more than %d entries`, maxEnvEntries)
	}
	for k := range c.Env {
		if !envNamePattern.MatchString(k) {
			return fieldErr(`field "env": %q is not a valid variable name`, k)
		}
		// Any spelling of the owner variable is refused whenever ownership is
		// on (with either tag, so that switching owner_tag later cannot hand
		// pods to whoever a client named): the owner is read by its exact
		// name, and no client may plant a look-alike.
		if owner != "" && strings.EqualFold(k, OwnerEnvName) {
			return fieldErr(`field "env": %s is set by the gateway (%q is refused in any spelling)`, OwnerEnvName, k)
		}
	}
	for _, p := range c.Ports {
		m := portPattern.FindStringSubmatch(p)
		if n, _ := strconv.Atoi(safeIndex(m, 1)); m == nil || n < 1 || n > 65535 {
			return fieldErr(`field "ports": %q must look like "8888/http" or "22/tcp"`, p)
		}
	}
	for _, dc := range c.DataCenterIDs {
		if dc == "" || strings.ContainsFunc(dc, isSpaceOrControl) {
			return fieldErr(`field "dataCenterIds" must hold data center ids such as "EU-RO-1"`)
		}
	}
	if len(h.AllowImages) > 0 && !slices.ContainsFunc(h.AllowImages, func(g string) bool { ok, _ := path.Match(g, c.Image); return ok }) {
		return fieldErr(`field "image": %q is not allowed on this route`, c.Image)
	}
	if len(h.AllowGPUTypes) > 0 && !slices.Contains(h.AllowGPUTypes, c.GPU.ID) {
		return fieldErr(`field "gpu_type": %q is not allowed on this route; allowed: %s`, c.GPU.ID, strings.Join(h.AllowGPUTypes, ", "))
	}
	return nil
}

func safeIndex(m []string, i int) string {
	if i < len(m) {
		return m[i]
	}
	return ""
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func isSpaceOrControl(r rune) bool { return r == ' ' || r == '\t' || isControl(r) }
