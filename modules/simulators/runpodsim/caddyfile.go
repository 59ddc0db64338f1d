package runpodsim

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gpugate/gpugate/modules/internal/directive"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("runpod_simulator", directive.Handler[Handler])
	httpcaddyfile.RegisterDirectiveOrder("runpod_simulator", httpcaddyfile.After, "reverse_proxy")
}

// UnmarshalCaddyfile parses the runpod_simulator directive:
//
//	runpod_simulator {
//	    api_key         {env.RUNPOD_API_KEY}
//	    provision_delay <duration>
//	    start_delay     <duration>
//	    endpoint        <endpoint-id>...
//	    queue_delay     <duration>
//	    run_delay       <duration>
//	    no_capacity     <gpu-type-id>...
//	    rate_limit      <requests per minute>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.Errf("runpod_simulator: unexpected argument %q; put settings in a block { ... }", d.Val())
	}
	b := directive.Open(d, "runpod_simulator").Repeatable("endpoint", "no_capacity")
	for b.Next() {
		if err := h.unmarshalSetting(b); err != nil {
			return err
		}
	}
	if h.APIKey == "" {
		return d.Err("runpod_simulator: api_key is required; write e.g. `api_key {env.RUNPOD_API_KEY}` (the key the gateway sends)")
	}
	if err := h.Validate(); err != nil {
		return d.WrapErr(err)
	}
	return nil
}

func (h *Handler) unmarshalSetting(b *directive.Block) error {
	var err error
	switch b.Setting() {
	case "api_key":
		h.APIKey, err = b.Secret("api_key {env.RUNPOD_API_KEY}")
	case "provision_delay":
		h.ProvisionDelay, err = b.Duration("provision_delay 2s")
	case "start_delay":
		h.StartDelay, err = b.Duration("start_delay 3s")
	case "queue_delay":
		h.QueueDelay, err = b.Duration("queue_delay 1s")
	case "run_delay":
		h.RunDelay, err = b.Duration("run_delay 3s")
	case "endpoint":
		var ids []string
		ids, err = b.Many("endpoint ep-demo")
		h.Endpoints = append(h.Endpoints, ids...)
	case "no_capacity":
		var ids []string
		ids, err = b.Many(`no_capacity "NVIDIA H100 80GB HBM3"`)
		h.NoCapacity = append(h.NoCapacity, ids...)
	case "rate_limit":
		var n int64
		n, err = b.Int(1, "rate_limit 60")
		h.RateLimitPerMinute = int(n)
	default:
		return b.Unknown("api_key", "provision_delay", "start_delay", "endpoint", "queue_delay", "run_delay", "no_capacity", "rate_limit")
	}
	return err
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
