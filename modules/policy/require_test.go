package policy

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

func TestRequireOnServer(t *testing.T) {
	t.Parallel()
	withServer := func(routes caddyhttp.RouteList) error {
		ctx := adapttest.Context(t)
		ctx.Context = context.WithValue(ctx.Context, caddyhttp.ServerCtxKey, &caddyhttp.Server{Routes: routes})
		return RequireOnServer(ctx, "jwt_auth")
	}
	raw := func(handler string) caddyhttp.Route {
		return caddyhttp.Route{HandlersRaw: []json.RawMessage{json.RawMessage(`{"handler":"` + handler + `"}`)}}
	}
	if err := withServer(caddyhttp.RouteList{raw("gpugate_request_policy"), raw("gpugate_jwt_auth")}); err != nil {
		t.Errorf("policy first (raw): %v", err)
	}
	if err := withServer(caddyhttp.RouteList{{Handlers: []caddyhttp.MiddlewareHandler{&Handler{}}}}); err != nil {
		t.Errorf("policy first (provisioned): %v", err)
	}
	for name, routes := range map[string]caddyhttp.RouteList{
		"no routes":        nil,
		"policy not first": {raw("gpugate_jwt_auth"), raw("gpugate_request_policy")},
		"another handler":  {raw("reverse_proxy")},
	} {
		err := withServer(routes)
		if err == nil || !strings.Contains(err.Error(), "jwt_auth") || !strings.Contains(err.Error(), "--adapter gpugate") {
			t.Errorf("%s: %v, want an error naming the module and the fix", name, err)
		}
	}
	if err := RequireOnServer(adapttest.Context(t), "jwt_auth"); err != nil {
		t.Errorf("outside a server: %v", err)
	}
}
