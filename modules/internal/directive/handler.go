package directive

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// unmarshalingHandler is a pointer to a handler that reads its own
// Caddyfile tokens.
type unmarshalingHandler[T any] interface {
	*T
	caddyhttp.MiddlewareHandler
	caddyfile.Unmarshaler
}

// Handler is the httpcaddyfile.HandlerDirective of a handler type that
// parses itself with UnmarshalCaddyfile:
//
//	httpcaddyfile.RegisterHandlerDirective("runpod", directive.Handler[runpod.Handler])
func Handler[T any, P unmarshalingHandler[T]](h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := P(new(T))
	if err := m.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return m, nil
}
