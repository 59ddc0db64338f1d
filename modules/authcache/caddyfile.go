package authcache

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("auth_cache", parseCaddyfile)
	// Where forward_auth is: like forward_auth, it runs after usage_plan
	// unless both sit in a route block (see README.md).
	httpcaddyfile.RegisterDirectiveOrder("auth_cache", httpcaddyfile.After, "forward_auth")
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
	for nesting := h.Nesting(); h.NextBlock(nesting); {
		switch h.Val() {
		case "key":
			hd.Key = h.RemainingArgs()
			if len(hd.Key) == 0 {
				return nil, h.Err("auth_cache: write key <placeholder>..., e.g. key {http.request.header.Authorization}")
			}
		case "ttl":
			args := h.RemainingArgs()
			if len(args) != 1 {
				return nil, h.Err("auth_cache: write ttl <duration>, e.g. ttl 5m")
			}
			d, err := caddy.ParseDuration(args[0])
			if err != nil || d <= 0 {
				return nil, h.Errf("auth_cache: ttl %q: write a duration above 0, e.g. ttl 5m", args[0])
			}
			hd.TTL = caddy.Duration(d)
		case "headers":
			hd.Headers = h.RemainingArgs()
			if len(hd.Headers) == 0 {
				return nil, h.Err("auth_cache: write headers <Header>... (the request headers the authorizer sets)")
			}
		case "max_entries":
			args := h.RemainingArgs()
			n, err := strconv.Atoi(firstOf(args))
			if len(args) != 1 || err != nil || n < 1 {
				return nil, h.Err("auth_cache: write max_entries <n> with n at least 1")
			}
			hd.MaxEntries = n
		default:
			seg := h.NextSegment()
			tokens = append(tokens, seg...)
			if len(seg) > 0 {
				last = seg[len(seg)-1].Line
			}
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
		return nil, h.Err(err.Error())
	}
	return hd, nil
}

func firstOf(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}
