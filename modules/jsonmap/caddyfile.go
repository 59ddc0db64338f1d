package jsonmap

import (
	"encoding/json"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gpugate/gpugate/modules/internal/directive"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("json_map", directive.Handler[Handler])
	httpcaddyfile.RegisterDirectiveOrder("json_map", httpcaddyfile.After, "request_header")
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	json_map [<matcher>] {
//	    request  { rename|move <from> <to> | wrap <from> [<to>] | default|set <path> <value> | drop <path>... }
//	    response { ... }
//	    max_body <size>
//	    max_response_body <size>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.Errf("json_map takes no arguments besides a matcher; put the operations in a request { ... } or response { ... } block")
	}
	b := directive.Open(d, "json_map").Repeatable("request", "response")
	for b.Next() {
		switch which := b.Setting(); which {
		case "request", "response":
			if d.NextArg() {
				return d.Errf("json_map %s takes no arguments; write the operations inside %s { ... }", which, which)
			}
			ops, err := parseOperations(d, which)
			if err != nil {
				return err
			}
			if which == "request" {
				h.Request = append(h.Request, ops...)
			} else {
				h.Response = append(h.Response, ops...)
			}
		case "max_body", "max_response_body":
			size, err := b.Size(which + " 1MiB")
			if err != nil {
				return err
			}
			if which == "max_body" {
				h.MaxBody = size
			} else {
				h.MaxResponseBody = size
			}
		default:
			return b.Unknown("request", "response", "max_body", "max_response_body")
		}
	}
	if len(h.Request) == 0 && len(h.Response) == 0 {
		return d.Err("json_map: nothing to do; add a request { ... } or response { ... } block with operations such as rename image_url image_s3_url")
	}
	return nil
}

// parseOperations reads the operations of a request or response block.
func parseOperations(d *caddyfile.Dispenser, which string) ([]Operation, error) {
	var ops []Operation
	b := directive.Open(d, "json_map "+which).Repeatable("rename", "move", "wrap", "default", "set", "drop")
	for b.Next() {
		switch op := b.Setting(); op {
		case "rename", "move":
			args, err := b.Args(2, op+" <from> <to>")
			if err != nil {
				return nil, d.Errf("json_map %s: %s takes two field paths: %s <from> <to>", which, op, op)
			}
			ops = append(ops, Operation{Op: OpMove, From: args[0], Path: args[1]})
		case "wrap":
			args, err := b.Many("wrap <from> [<to>]")
			if err != nil || len(args) > 2 {
				return nil, d.Errf("json_map %s: wrap takes one or two field paths: wrap <from> [<to>]", which)
			}
			o := Operation{Op: OpWrap, From: args[0]}
			if len(args) == 2 {
				o.Path = args[1]
			}
			ops = append(ops, o)
		case "default", "set":
			args, err := b.Args(2, op+" <path> <value>")
			if err != nil {
				return nil, d.Errf("json_map %s: %s takes a field path and one value: %s <path> <value> (quote values with spaces)", which, op, op)
			}
			ops = append(ops, Operation{Op: op, Path: args[0], Value: literal(args[1])})
		case "drop":
			paths, err := b.Many("drop <path> [<path>...]")
			if err != nil {
				return nil, err
			}
			for _, p := range paths {
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
		return nil, d.WrapErr(err)
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
