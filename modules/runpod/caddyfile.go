package runpod

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("runpod", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("runpod", httpcaddyfile.After, "metrics")
}

// parseCaddyfile sets up the handler from Caddyfile tokens.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile parses the runpod directive:
//
//	runpod pods|api|serverless {
//	    api_key         {env.RUNPOD_API_KEY}
//	    base_url        https://api.runpod.io/v2
//	    serverless_url  https://api.runpod.ai/v2
//	    endpoint        <alias> <endpoint-id>
//	    timeout         <duration>
//	    connect_timeout <duration>
//	    allow_images    <glob>...
//	    allow_gpu_types <gpu-type-id>...
//	    default         image|gpu_type|gpu_count|cloud|disk <value>
//	    owner_claim     <claim>
//	    owner_tag       env|name
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if !d.NextArg() {
		return d.Err("runpod: missing mode; write `runpod pods`, `runpod api` or `runpod serverless`")
	}
	h.Mode = d.Val()
	if d.NextArg() {
		return d.Errf("runpod: unexpected argument %q after the mode; put settings in a block { ... }", d.Val())
	}
	for d.NextBlock(0) {
		if err := h.unmarshalOption(d); err != nil {
			return err
		}
	}
	if err := h.validateConfig(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// unmarshalOption parses one subdirective of the block.
func (h *Handler) unmarshalOption(d *caddyfile.Dispenser) error {
	name := d.Val()
	args := d.RemainingArgs()
	one := func() (string, error) {
		if len(args) != 1 {
			return "", d.Errf("runpod: %s takes exactly one value", name)
		}
		return args[0], nil
	}
	var err error
	switch name {
	case "api_key":
		h.APIKey, err = one()
	case "base_url":
		h.BaseURL, err = one()
	case "serverless_url":
		h.ServerlessURL, err = one()
	case "endpoint":
		if len(args) != 2 {
			return d.Err("runpod: write `endpoint <alias> <endpoint-id>`")
		}
		if h.Endpoints == nil {
			h.Endpoints = map[string]string{}
		}
		if _, dup := h.Endpoints[args[0]]; dup {
			return d.Errf("runpod: endpoint alias %q is defined twice", args[0])
		}
		h.Endpoints[args[0]] = args[1]
	case "timeout", "connect_timeout":
		v, e := one()
		if e != nil {
			return e
		}
		dur, e := caddy.ParseDuration(v)
		if e != nil || dur <= 0 {
			return d.Errf("runpod: %s %q is not a positive duration; write e.g. `%s 30s`", name, v, name)
		}
		if name == "timeout" {
			h.Timeout = caddy.Duration(dur)
		} else {
			h.ConnectTimeout = caddy.Duration(dur)
		}
	case "allow_images":
		if len(args) == 0 {
			return d.Err("runpod: write `allow_images <glob>...`, e.g. `allow_images runpod/*`")
		}
		h.AllowImages = append(h.AllowImages, args...)
	case "allow_gpu_types":
		if len(args) == 0 {
			return d.Err(`runpod: write allow_gpu_types "<gpu type id>"..., e.g. allow_gpu_types "NVIDIA GeForce RTX 4090"`)
		}
		h.AllowGPUTypes = append(h.AllowGPUTypes, args...)
	case "default":
		err = h.unmarshalDefault(d, args)
	case "owner_claim":
		h.OwnerClaim, err = one()
	case "owner_tag":
		h.OwnerTag, err = one()
	default:
		return d.Errf("runpod: unknown subdirective %q; valid: api_key, base_url, serverless_url, endpoint, timeout, "+
			"connect_timeout, allow_images, allow_gpu_types, default, owner_claim, owner_tag", name)
	}
	return err
}

// unmarshalDefault parses `default <field> <value>`.
func (h *Handler) unmarshalDefault(d *caddyfile.Dispenser, args []string) error {
	if len(args) != 2 {
		return d.Err("runpod: write `default <field> <value>` with field image, gpu_type, gpu_count, cloud or disk")
	}
	if h.Defaults == nil {
		h.Defaults = &CreateDefaults{}
	}
	field, value := args[0], args[1]
	switch field {
	case "image":
		h.Defaults.Image = value
	case "gpu_type":
		h.Defaults.GPUType = value
	case "cloud":
		h.Defaults.Cloud = value
	case "gpu_count", "disk":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 {
			return d.Errf("runpod: default %s %q must be a positive integer", field, value)
		}
		if field == "disk" {
			h.Defaults.Disk = n
		} else {
			h.Defaults.GPUCount = n
		}
	default:
		return d.Errf("runpod: default %q: the fields with defaults are image, gpu_type, gpu_count, cloud and disk", field)
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
