package authcache

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/directive"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("auth_cache", parseCaddyfile)
	// Just before forward_auth (which it usually wraps): after jwt_auth,
	// before usage_plan, so a plan key the authorizer returns is there when
	// usage_plan reads it.
	httpcaddyfile.RegisterDirectiveOrder("auth_cache", httpcaddyfile.Before, "forward_auth")
}

// parseCaddyfile parses:
//
//	auth_cache [<matcher>] {
//	    key <placeholder>...
//	    ttl <duration>
//	    headers <Header>...
//	    max_entries <n>
//	    <directives run on a miss, e.g. forward_auth ...>
//	}
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	hd := new(Handler)
	h.Next() // directive name
	name := h.Token()
	if h.NextArg() {
		return nil, h.Err("auth_cache: no arguments; write the settings and the authorizer in a block")
	}
	// The block mixes settings and directives: settings are read here, the
	// directives' segments become the routes, parsed like a handle block.
	tokens := []caddyfile.Token{name, {File: name.File, Line: name.Line, Text: "{"}}
	last := name.Line
	b := directive.Open(h.Dispenser, "auth_cache")
	for b.Next() {
		var err error
		switch b.Setting() {
		case "key":
			hd.Key, err = b.Many("key {http.request.header.Authorization}")
		case "ttl":
			hd.TTL, err = b.Duration("ttl 5m")
		case "headers":
			hd.Headers, err = b.Many("headers X-Plan-Key X-Principal")
		case "max_entries":
			var n int64
			n, err = b.Int(1, "max_entries 10000")
			hd.MaxEntries = int(n)
		default:
			seg := h.NextSegment()
			tokens = append(tokens, seg...)
			if len(seg) > 0 {
				last = seg[len(seg)-1].Line
			}
		}
		if err != nil {
			return nil, err
		}
	}
	tokens = append(tokens, caddyfile.Token{File: name.File, Line: last + 1, Text: "}"})
	sub, err := httpcaddyfile.ParseSegmentAsSubroute(h.WithDispenser(caddyfile.NewDispenser(tokens)))
	if err != nil {
		return nil, err
	}
	if sr, ok := sub.(*caddyhttp.Subroute); ok {
		hd.Routes = sr.Routes
	}
	if err := hd.validate(); err != nil {
		return nil, h.WrapErr(err)
	}
	return hd, nil
}
