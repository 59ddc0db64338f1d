package modalsim

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gpugate/gpugate/modules/internal/directive"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("modal_simulator", directive.Handler[Handler])
	httpcaddyfile.RegisterDirectiveOrder("modal_simulator", httpcaddyfile.Before, "php_fastcgi")
}

// UnmarshalCaddyfile parses the modal_simulator directive:
//
//	modal_simulator {
//	    api_key    {env.MULTITALK_API_KEY}
//	    proxy_auth {env.MODAL_KEY} {env.MODAL_SECRET}
//	    call_limit <duration>
//	    job_step   <duration>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.Errf("modal_simulator: unexpected argument %q; put settings in a block { ... }", d.Val())
	}
	b := directive.Open(d, "modal_simulator")
	for b.Next() {
		var err error
		switch b.Setting() {
		case "api_key":
			h.APIKey, err = b.Secret("api_key {env.MULTITALK_API_KEY}")
		case "proxy_auth":
			var args []string
			if args, err = b.Args(2, "proxy_auth {env.MODAL_KEY} {env.MODAL_SECRET}"); err == nil {
				h.ProxyKey, h.ProxySecret = args[0], args[1]
			}
		case "call_limit":
			h.CallLimit, err = b.Duration("call_limit 150s")
		case "job_step":
			h.JobStep, err = b.Duration("job_step 2s")
		default:
			return b.Unknown("api_key", "proxy_auth", "call_limit", "job_step")
		}
		if err != nil {
			return err
		}
	}
	if err := h.Validate(); err != nil {
		return d.WrapErr(err)
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
