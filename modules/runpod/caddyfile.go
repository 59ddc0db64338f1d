package runpod

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gpugate/gpugate/modules/internal/directive"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("runpod", directive.Handler[Handler])
	httpcaddyfile.RegisterDirectiveOrder("runpod", httpcaddyfile.After, "metrics")
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
//	    max_body        <size>
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
	b := directive.Open(d, "runpod").Repeatable("endpoint", "allow_images", "allow_gpu_types", "default")
	for b.Next() {
		if err := h.unmarshalSetting(b); err != nil {
			return err
		}
	}
	if err := h.validateConfig(); err != nil {
		return d.WrapErr(err)
	}
	return nil
}

// unmarshalSetting parses one setting of the block.
func (h *Handler) unmarshalSetting(b *directive.Block) error {
	var err error
	switch b.Setting() {
	case "api_key":
		h.APIKey, err = b.Secret("api_key {env.RUNPOD_API_KEY}")
	case "base_url":
		h.BaseURL, err = b.One("base_url https://api.runpod.io/v2")
	case "serverless_url":
		h.ServerlessURL, err = b.One("serverless_url https://api.runpod.ai/v2")
	case "endpoint":
		var args []string
		if args, err = b.Args(2, "endpoint <alias> <endpoint-id>"); err != nil {
			return err
		}
		if _, dup := h.Endpoints[args[0]]; dup {
			return b.Errf("alias %q is defined twice", args[0])
		}
		if h.Endpoints == nil {
			h.Endpoints = map[string]string{}
		}
		h.Endpoints[args[0]] = args[1]
	case "timeout":
		h.Timeout, err = b.Duration("timeout 30s")
	case "connect_timeout":
		h.ConnectTimeout, err = b.Duration("connect_timeout 10s")
	case "max_body":
		h.MaxBody, err = b.Size("max_body 20MB")
	case "allow_images":
		var globs []string
		globs, err = b.Many("allow_images runpod/*")
		h.AllowImages = append(h.AllowImages, globs...)
	case "allow_gpu_types":
		var ids []string
		ids, err = b.Many(`allow_gpu_types "NVIDIA GeForce RTX 4090"`)
		h.AllowGPUTypes = append(h.AllowGPUTypes, ids...)
	case "default":
		err = h.unmarshalDefault(b)
	case "owner_claim":
		h.OwnerClaim, err = b.One("owner_claim sub")
	case "owner_tag":
		h.OwnerTag, err = b.One("owner_tag env")
	case "admin_scope":
		h.AdminScope, err = b.One("admin_scope runpod:admin")
	case "max_pods", "max_gpus":
		var n int64
		if n, err = b.Int(1, b.Setting()+" 2"); err == nil {
			if b.Setting() == "max_pods" {
				h.MaxPods = int(n)
			} else {
				h.MaxGPUs = int(n)
			}
		}
	case "max_usd_per_hour":
		var v string
		if v, err = b.One("max_usd_per_hour 5.50"); err == nil {
			if h.MaxUSDPerHour, err = strconv.ParseFloat(v, 64); err != nil || h.MaxUSDPerHour <= 0 {
				return b.Errf("max_usd_per_hour %q: write a number of US dollars per hour above 0, e.g. max_usd_per_hour 5.50", v)
			}
		}
	default:
		return b.Unknown("api_key", "base_url", "serverless_url", "endpoint", "timeout", "connect_timeout",
			"max_body", "allow_images", "allow_gpu_types", "default", "owner_claim", "owner_tag", "admin_scope",
			"max_pods", "max_gpus", "max_usd_per_hour")
	}
	return err
}

// unmarshalDefault parses `default <field> <value>`.
func (h *Handler) unmarshalDefault(b *directive.Block) error {
	args, err := b.Args(2, "default gpu_type \"NVIDIA GeForce RTX 4090\"` (fields: image, gpu_type, gpu_count, cloud, disk")
	if err != nil {
		return err
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
			return b.Errf("default %s %q must be a positive integer", field, value)
		}
		if field == "disk" {
			h.Defaults.Disk = n
		} else {
			h.Defaults.GPUCount = n
		}
	default:
		return b.Errf("default %q: the fields with defaults are image, gpu_type, gpu_count, cloud and disk", field)
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
