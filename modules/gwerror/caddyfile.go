package gwerror

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/directive"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("gateway_responses", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("gateway_error", parseErrorHandler)
	// Terminal, like respond: it writes the error response.
	httpcaddyfile.RegisterDirectiveOrder("gateway_error", httpcaddyfile.Before, "respond")
}

// parseErrorHandler parses the gateway_error directive (ErrorHandler), which
// takes no arguments; it belongs in a handle_errors block:
//
//	handle_errors {
//	    gateway_error
//	}
func parseErrorHandler(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	h.Next() // directive name
	if h.NextArg() || h.NextBlock(h.Nesting()) {
		return nil, h.Errf("gateway_error takes no arguments; write `gateway_error` on its own line in handle_errors")
	}
	return new(ErrorHandler), nil
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
	b := directive.Open(d, "gateway_responses")
	for b.Next() {
		name := b.Setting()
		if name == "request_id_header" {
			v, err := b.One("request_id_header X-Request-Id` (or off")
			if err != nil {
				return d.Errf("gateway_responses request_id_header takes one header name (or off), e.g. request_id_header X-Request-Id")
			}
			a.RequestIDHeader = v
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
		return d.WrapErr(err)
	}
	return nil
}

// parseStyle reads the block of one response type.
func parseStyle(d *caddyfile.Dispenser, t Type) (*ResponseStyle, error) {
	rs := new(ResponseStyle)
	b := directive.Open(d, "gateway_responses "+string(t)).Repeatable("header")
	for b.Next() {
		switch b.Setting() {
		case "status":
			v, err := b.One(fmt.Sprintf("status %d", DefaultOf(t).Status))
			if err != nil {
				return nil, err
			}
			code, err := strconv.Atoi(v)
			if err != nil {
				return nil, b.Errf("status takes one status code, e.g. status %d", DefaultOf(t).Status)
			}
			rs.Status = code
		case "body":
			v, err := b.One("body `{\"error\":\"{message}\",\"request_id\":\"{request_id}\"}`")
			if err != nil {
				return nil, d.Errf("gateway_responses %s: body takes one template; quote it with backticks, e.g. body `{\"error\":\"{message}\",\"request_id\":\"{request_id}\"}`", t)
			}
			rs.Body = v
		case "header":
			args, err := b.Args(2, "header X-Error-Type {type}` (quote values with spaces")
			if err != nil {
				return nil, err
			}
			if rs.Headers == nil {
				rs.Headers = make(http.Header)
			}
			rs.Headers[args[0]] = append(rs.Headers[args[0]], args[1])
		default:
			return nil, b.Unknown("status", "body", "header")
		}
	}
	return rs, nil
}
