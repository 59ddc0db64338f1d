package jsonmap

import (
	"encoding/json"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("json_map", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("json_map", httpcaddyfile.After, "request_header")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	json_map [<matcher>] {
//	    request  { rename|move <from> <to> | wrap <from> [<to>] | default|set <path> <value> | drop <path>... }
//	    response { ... }
//	    max_body <size>
//	    max_response_body <size>
//	}
func (m *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.Errf("json_map takes no arguments besides a matcher; put the operations in a request { ... } or response { ... } block")
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "request", "response":
			which := d.Val()
			if d.NextArg() {
				return d.Errf("json_map %s takes no arguments; write the operations inside %s { ... }", which, which)
			}
			ops, err := parseOperations(d, which)
			if err != nil {
				return err
			}
			if which == "request" {
				m.Request = append(m.Request, ops...)
			} else {
				m.Response = append(m.Response, ops...)
			}
		case "max_body", "max_response_body":
			name := d.Val()
			var arg string
			if !d.Args(&arg) || d.NextArg() {
				return d.Errf("json_map %s takes one size, e.g. %s 1MiB", name, name)
			}
			size, err := humanize.ParseBytes(arg)
			if err != nil || size == 0 {
				return d.Errf("json_map %s: invalid size %q; write e.g. %s 1MiB or %s 512KB", name, arg, name, name)
			}
			if name == "max_body" {
				m.MaxBody = int64(size)
			} else {
				m.MaxResponseBody = int64(size)
			}
		default:
			return d.Errf("json_map: unknown subdirective %q; use request, response, max_body or max_response_body", d.Val())
		}
	}
	if len(m.Request) == 0 && len(m.Response) == 0 {
		return d.Err("json_map: nothing to do; add a request { ... } or response { ... } block with operations such as rename image_url image_s3_url")
	}
	return nil
}

// parseOperations reads the operations of a request or response block.
func parseOperations(d *caddyfile.Dispenser, which string) ([]Operation, error) {
	var ops []Operation
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		op := d.Val()
		args := d.RemainingArgs()
		switch op {
		case "rename", "move":
			if len(args) != 2 {
				return nil, d.Errf("json_map %s: %s takes two field paths: %s <from> <to>", which, op, op)
			}
			ops = append(ops, Operation{Op: OpMove, From: args[0], Path: args[1]})
		case "wrap":
			if len(args) < 1 || len(args) > 2 {
				return nil, d.Errf("json_map %s: wrap takes one or two field paths: wrap <from> [<to>]", which)
			}
			o := Operation{Op: OpWrap, From: args[0]}
			if len(args) == 2 {
				o.Path = args[1]
			}
			ops = append(ops, o)
		case "default", "set":
			if len(args) != 2 {
				return nil, d.Errf("json_map %s: %s takes a field path and one value: %s <path> <value> (quote values with spaces)", which, op, op)
			}
			ops = append(ops, Operation{Op: op, Path: args[0], Value: literal(args[1])})
		case "drop":
			if len(args) == 0 {
				return nil, d.Errf("json_map %s: drop takes one or more field paths: drop <path> [<path>...]", which)
			}
			for _, p := range args {
				ops = append(ops, Operation{Op: OpDrop, Path: p})
			}
		default:
			return nil, d.Errf("json_map %s: unknown operation %q; use rename, move, wrap, default, set or drop", which, op)
		}
	}
	if len(ops) == 0 {
		return nil, d.Errf("json_map %s: the block is empty; add operations such as rename image_url image_s3_url", which)
	}
	if _, err := compile(which, ops); err != nil {
		return nil, d.Err(err.Error())
	}
	return ops, nil
}

// literal reads a Caddyfile value as JSON when it is valid JSON and as a
// string otherwise.
func literal(s string) json.RawMessage {
	if t := strings.TrimSpace(s); t != "" && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(s)
	return b
}
