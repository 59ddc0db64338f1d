package routemetrics

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/gpugate/gpugate/modules/internal/directive"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("route_metrics", directive.Handler[Handler])
	// First after tracing, so it wraps every other handler of the route
	// (cors, jwt_auth, usage_plan rejections included).
	httpcaddyfile.RegisterDirectiveOrder("route_metrics", httpcaddyfile.After, "tracing")
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	route_metrics [<matcher>] <route>
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if !d.NextArg() {
		return d.Errf("route_metrics: name the route, e.g. route_metrics generate")
	}
	h.Route = d.Val()
	if d.NextArg() {
		return d.Errf("route_metrics takes one route name; found also %q", d.Val())
	}
	if d.NextBlock(0) {
		return d.Errf("route_metrics has no block; write route_metrics <route>")
	}
	if err := h.Validate(); err != nil {
		return d.WrapErr(err)
	}
	return nil
}
