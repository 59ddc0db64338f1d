package cors

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("cors", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("cors", httpcaddyfile.Before, "basicauth")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	c := new(Handler)
	err := c.UnmarshalCaddyfile(h.Dispenser)
	return c, err
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
func (c *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.Errf("cors takes no arguments besides a matcher; write the origins inside the block: cors { origins %s }", d.Val())
	}
	for d.NextBlock(0) {
		name := d.Val()
		args := d.RemainingArgs()
		switch name {
		case "origins", "methods", "headers", "expose_headers":
			if len(args) == 0 {
				return d.Errf("cors %s needs at least one value", name)
			}
			switch name {
			case "origins":
				c.Origins = append(c.Origins, args...)
			case "methods":
				c.Methods = append(c.Methods, args...)
			case "headers":
				c.Headers = append(c.Headers, args...)
			default:
				c.ExposeHeaders = append(c.ExposeHeaders, args...)
			}
		case "credentials":
			if len(args) != 0 {
				return d.Err("cors credentials takes no value; write credentials on its own line to allow cookies and Authorization")
			}
			c.Credentials = true
		case "max_age":
			if len(args) != 1 {
				return d.Err("cors max_age takes one duration, e.g. max_age 10m")
			}
			dur, err := caddy.ParseDuration(args[0])
			if err != nil || dur <= 0 {
				return d.Errf("cors max_age: invalid duration %q; write e.g. max_age 10m", args[0])
			}
			c.MaxAge = caddy.Duration(dur.Truncate(time.Second))
		default:
			return d.Errf("cors: unknown subdirective %q; use origins, methods, headers, expose_headers, credentials or max_age", name)
		}
	}
	if err := c.check(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}
