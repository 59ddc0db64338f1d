package gwerror

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("gateway_responses", parseGlobalOption)
}

// parseGlobalOption parses the gateway_responses global option into the
// gateway_responses app:
//
//	gateway_responses {
//	    request_id_header <name>|off
//	    <TYPE> {
//	        status <code>
//	        body   <template>
//	        header <name> <template>
//	    }
//	}
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	if existing != nil {
		return nil, d.Err("gateway_responses: the global option is given twice; put every response type in one block")
	}
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: AppName, Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile sets up the app from the global option's tokens.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // option name
	if d.NextArg() {
		return d.Err("gateway_responses takes a block, e.g. gateway_responses { UNAUTHORIZED { body ... } }")
	}
	known := make(map[Type]bool)
	for _, t := range Types() {
		known[t] = true
	}
	for d.NextBlock(0) {
		name := d.Val()
		if name == "request_id_header" {
			if !d.NextArg() || d.CountRemainingArgs() > 0 {
				return d.Err("gateway_responses request_id_header takes one header name (or off), e.g. request_id_header X-Request-Id")
			}
			a.RequestIDHeader = d.Val()
			continue
		}
		t := Type(strings.ToUpper(name))
		if !known[t] {
			return d.Errf("gateway_responses: unknown response type %q; use request_id_header or one of %s", name, typeList())
		}
		if d.NextArg() {
			return d.Errf("gateway_responses %s takes a block: %s { status <code>; body <template>; header <name> <value> }", t, t)
		}
		if a.Responses[t] != nil {
			return d.Errf("gateway_responses: %s is configured twice; merge the blocks", t)
		}
		rs, err := parseStyle(d, t)
		if err != nil {
			return err
		}
		if a.Responses == nil {
			a.Responses = make(map[Type]*ResponseStyle)
		}
		a.Responses[t] = rs
	}
	if err := a.Validate(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// parseStyle reads the block of one response type.
func parseStyle(d *caddyfile.Dispenser, t Type) (*ResponseStyle, error) {
	rs := new(ResponseStyle)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		sub := d.Val()
		args := d.RemainingArgs()
		switch sub {
		case "status":
			code, err := strconv.Atoi(strings.Join(args, " "))
			if len(args) != 1 || err != nil {
				return nil, d.Errf("gateway_responses %s: status takes one status code, e.g. status %d", t, DefaultOf(t).Status)
			}
			rs.Status = code
		case "body":
			if len(args) != 1 {
				return nil, d.Errf("gateway_responses %s: body takes one template; quote it with backticks, e.g. body `{\"error\":\"{message}\",\"request_id\":\"{request_id}\"}`", t)
			}
			rs.Body = args[0]
		case "header":
			if len(args) != 2 {
				return nil, d.Errf("gateway_responses %s: header takes a name and one value (quote values with spaces)", t)
			}
			if rs.Headers == nil {
				rs.Headers = make(http.Header)
			}
			rs.Headers[args[0]] = append(rs.Headers[args[0]], args[1])
		default:
			return nil, d.Errf("gateway_responses %s: unknown subdirective %q; use status, body or header", t, sub)
		}
	}
	return rs, nil
}
