package health

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gpugate/gpugate/modules/internal/directive"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("gpugate_health", directive.Handler[Handler])
	// Terminal, like respond: it answers the probe itself.
	httpcaddyfile.RegisterDirectiveOrder("gpugate_health", httpcaddyfile.Before, "respond")
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	gpugate_health [<matcher>] [live|ready] {
//	    timeout <duration>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		h.Mode = d.Val()
		if h.Mode != ModeLive && h.Mode != ModeReady {
			return d.Errf("gpugate_health: unknown mode %q; write gpugate_health live (liveness) or gpugate_health ready (readiness)", h.Mode)
		}
		if d.NextArg() {
			return d.Errf("gpugate_health takes one mode, live or ready; found also %q", d.Val())
		}
	}
	b := directive.Open(d, "gpugate_health")
	for b.Next() {
		switch b.Setting() {
		case "timeout":
			if h.Mode == ModeLive {
				return b.Errf("timeout applies to readiness only; write gpugate_health ready { timeout 2s } or drop it")
			}
			v, err := b.Duration("timeout 2s")
			if err != nil {
				return err
			}
			h.Timeout = v
		default:
			return b.Unknown("timeout")
		}
	}
	return nil
}
