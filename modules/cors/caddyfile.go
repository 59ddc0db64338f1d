package cors

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gpugate/gpugate/modules/internal/directive"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("cors", directive.Handler[Handler])
	httpcaddyfile.RegisterDirectiveOrder("cors", httpcaddyfile.Before, "basic_auth")
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	cors [<matcher>] {
//	    origins <origin>... | *
//	    methods <method>...
//	    headers <header>... | *
//	    expose_headers <header>...
//	    credentials
//	    max_age <duration>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.Errf("cors takes no arguments besides a matcher; write the origins inside the block: cors { origins %s }", d.Val())
	}
	b := directive.Open(d, "cors").Repeatable("origins", "methods", "headers", "expose_headers")
	for b.Next() {
		var err error
		var args []string
		switch b.Setting() {
		case "origins":
			args, err = b.Many("origins https://app.example.com")
			h.Origins = append(h.Origins, args...)
		case "methods":
			args, err = b.Many("methods GET POST")
			h.Methods = append(h.Methods, args...)
		case "headers":
			args, err = b.Many("headers Authorization Content-Type")
			h.Headers = append(h.Headers, args...)
		case "expose_headers":
			args, err = b.Many("expose_headers RateLimit Retry-After")
			h.ExposeHeaders = append(h.ExposeHeaders, args...)
		case "credentials":
			err = b.Flag()
			h.Credentials = true
		case "max_age":
			var v string
			if v, err = b.One("max_age 10m"); err != nil {
				return err
			}
			dur, perr := caddy.ParseDuration(v)
			if perr != nil || dur <= 0 {
				return d.Errf("cors max_age: invalid duration %q; write e.g. max_age 10m", v)
			}
			h.MaxAge = caddy.Duration(dur.Truncate(time.Second))
		default:
			return b.Unknown("origins", "methods", "headers", "expose_headers", "credentials", "max_age")
		}
		if err != nil {
			return err
		}
	}
	if err := h.check(); err != nil {
		return d.WrapErr(err)
	}
	return nil
}
