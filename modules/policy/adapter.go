package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/textproto"
	"slices"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// AdapterName is the config adapter that reads a Caddyfile the way gpugate
// serves it: `gpugate run --config gateway.Caddyfile --adapter gpugate`.
const AdapterName = "gpugate"

func init() {
	caddyconfig.RegisterAdapter(AdapterName, Adapter{})
}

// Adapter is Caddy's Caddyfile adapter plus the gateway's policy, which
// then holds for every Caddyfile with no line written for it:
//
//   - every HTTP server runs the request policy (Handler) first;
//   - every log (the default log too, created when absent) passes its
//     entries through Caddy's filter encoder, which replaces each client
//     credential the config reads (headers, query parameters, cookies) with
//     REDACTED: access logs, error logs with the request, for every host,
//     matched or not (the filter inside the LazyEncoder, so that it runs
//     only for entries written);
//   - every server without handle_errors answers a handler error of
//     Caddy's (request_body's limit, reverse_proxy's unreachable or slow
//     upstream) with the gateway's JSON error (gwerror.ErrorHandler).
type Adapter struct{}

// Adapt adapts a Caddyfile and applies the gateway's policy.
func (Adapter) Adapt(body []byte, options map[string]any) ([]byte, []caddyconfig.Warning, error) {
	caddyfile := caddyconfig.GetAdapter("caddyfile")
	if caddyfile == nil {
		return nil, nil, fmt.Errorf("gpugate adapter: the caddyfile adapter is not in this build")
	}
	out, warnings, err := caddyfile.Adapt(body, options)
	if err != nil {
		return nil, warnings, err
	}
	out, err = Apply(out)
	return out, warnings, err
}

// Redacted is what the logs show instead of a credential.
const Redacted = "REDACTED"

// credentialHeaders are read as client credentials by gpugate's modules or
// Caddy's standard ones whatever the config says.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "Modal-Key",
	"Modal-Secret", "X-Amz-Security-Token"}

// credentialQueries are query parameters redacted in every log whatever the
// config reads: the names clients and SDKs put keys and tokens in when they
// cannot set a header.
var credentialQueries = []string{"api_key", "apikey", "api-key", "x-api-key", "key", "access_token", "token", "jwt"}

// Apply adds the gateway's policy to an adapted JSON config (see Adapter).
// It is idempotent.
func Apply(config []byte) ([]byte, error) {
	cfg := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.UseNumber()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("gpugate adapter: reading the adapted config: %w", err)
	}
	found := scan(cfg)
	addPolicyRoutes(cfg, found.protected)
	addErrorRoutes(cfg)
	redactLogs(cfg, found)
	return json.Marshal(cfg)
}

// findings are the names a config reads credentials from and the request
// headers it injects.
type findings struct {
	headers, queries []string
	protected        []string
}

// gatewayPlaceholders are the prefixes of placeholders whose values the
// gateway decides (an identity, a key id, a plan, an authorizer's answer):
// a request header set from one is the gateway's, never the client's.
var gatewayPlaceholders = []string{"{http.auth.", "{http.usage_plan.", "{http.gpugate.", "{http.reverse_proxy.header."}

// clientAddressHeaders claim a client address. Caddy's reverse_proxy sets
// X-Forwarded-For/-Proto/-Host itself, trusting client-sent values only
// from the server's trusted_proxies (the one mechanism for real client IPs
// behind a load balancer); these two it would pass through as sent, so a
// proxying server deletes them.
var clientAddressHeaders = []string{"Forwarded", "X-Real-Ip"}

// scan walks every handler of the config.
func scan(cfg map[string]any) findings {
	f := findings{headers: slices.Clone(credentialHeaders), queries: slices.Clone(credentialQueries),
		protected: slices.Clone(clientAddressHeaders)}
	walk(cfg, func(obj map[string]any) {
		switch obj["handler"] {
		case "gpugate_jwt_auth":
			for _, ch := range list(obj["claim_headers"]) {
				f.protected = appendName(f.protected, str(ch["header"]))
			}
			for _, l := range list(obj["from"]) {
				f.add(str(l["from"]), str(l["name"]))
			}
		case "gpugate_usage_plan":
			if ks, ok := obj["key_source"].(map[string]any); ok {
				f.add(str(ks["from"]), str(ks["name"]))
			}
		case "gpugate_auth_cache":
			for _, h := range strs(obj["headers"]) {
				f.protected = appendName(f.protected, h)
			}
		case "reverse_proxy":
			if hdrs, ok := obj["headers"].(map[string]any); ok {
				f.protected = appendInjected(f.protected, hdrs["request"])
			}
		case "headers":
			f.protected = appendInjected(f.protected, obj["request"])
		}
	})
	sort.Strings(f.protected)
	return f
}

// add records a credential location: a header or a query parameter (a
// cookie is in the Cookie header, redacted whole).
func (f *findings) add(from, name string) {
	switch {
	case name == "":
	case from == "header":
		f.headers = appendName(f.headers, name)
	case from == "query":
		if !slices.Contains(f.queries, name) {
			f.queries = append(f.queries, name)
		}
	}
}

// appendInjected adds the headers that a header-operations object (Caddy's
// headers.HeaderOps: set, add) sets from a gateway placeholder.
func appendInjected(names []string, ops any) []string {
	o, ok := ops.(map[string]any)
	if !ok {
		return names
	}
	for _, kind := range []string{"set", "add"} {
		m, _ := o[kind].(map[string]any)
		for name, vals := range m {
			for _, v := range strs(vals) {
				if hasGatewayPlaceholder(v) {
					names = appendName(names, name)
				}
			}
		}
	}
	return names
}

func hasGatewayPlaceholder(v string) bool {
	for _, p := range gatewayPlaceholders {
		if strings.Contains(v, p) {
			return true
		}
	}
	return false
}

// appendName adds a header name in canonical form, once.
func appendName(names []string, name string) []string {
	if name == "" {
		return names
	}
	canon := textproto.CanonicalMIMEHeaderKey(name)
	if slices.Contains(names, canon) {
		return names
	}
	return append(names, canon)
}

// proxyHandlers are the handlers through which a request reaches an
// upstream, with whatever headers it carries.
var proxyHandlers = []string{"reverse_proxy", "gpugate_runpod", "gpugate_modal"}

// addPolicyRoutes puts the request policy first on every HTTP server. The
// protected headers are deleted on the servers that proxy (where a forged
// copy could reach an upstream); a server that only answers by itself, such
// as a demo upstream or a simulator in the same config, receives the
// gateway's own values and keeps them.
func addPolicyRoutes(cfg map[string]any, protected []string) {
	for _, srv := range servers(cfg) {
		routes, _ := srv["routes"].([]any)
		if len(routes) > 0 && isPolicyRoute(routes[0]) {
			continue
		}
		policy := map[string]any{"handler": "gpugate_request_policy"}
		if len(protected) > 0 && proxies(srv) {
			policy["protected_headers"] = protected
		}
		srv["routes"] = append([]any{map[string]any{"handle": []any{policy}}}, routes...)
	}
}

// addErrorRoutes gives every HTTP server without error routes of its own
// (no handle_errors) the gateway's error handler, so a handler error of
// Caddy's (a request_body limit, an unreachable upstream behind
// reverse_proxy) is answered with the gateway's JSON rather than an empty
// body.
func addErrorRoutes(cfg map[string]any) {
	for _, srv := range servers(cfg) {
		errs, _ := srv["errors"].(map[string]any)
		if errs == nil {
			errs = map[string]any{}
			srv["errors"] = errs
		}
		if routes, _ := errs["routes"].([]any); len(routes) > 0 {
			continue
		}
		errs["routes"] = []any{map[string]any{"handle": []any{map[string]any{"handler": "gpugate_error"}}}}
	}
}

// proxies reports whether a server has a handler that proxies.
func proxies(srv map[string]any) bool {
	found := false
	walk(srv, func(obj map[string]any) {
		if h, ok := obj["handler"].(string); ok && slices.Contains(proxyHandlers, h) {
			found = true
		}
	})
	return found
}

// isPolicyRoute reports whether a route is the one addPolicyRoutes adds.
func isPolicyRoute(route any) bool {
	r, ok := route.(map[string]any)
	if !ok {
		return false
	}
	handle := list(r["handle"])
	return len(handle) > 0 && handle[0]["handler"] == "gpugate_request_policy"
}

// servers returns the HTTP app's servers.
func servers(cfg map[string]any) []map[string]any {
	apps, _ := cfg["apps"].(map[string]any)
	httpApp, _ := apps["http"].(map[string]any)
	srvs, _ := httpApp["servers"].(map[string]any)
	names := make([]string, 0, len(srvs))
	for name := range srvs {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []map[string]any
	for _, name := range names {
		if s, ok := srvs[name].(map[string]any); ok {
			out = append(out, s)
		}
	}
	return out
}

// redactLogs wraps every log's encoder (and the default log's, which it
// creates when the config has none) in Caddy's filter encoder, and that in
// the LazyEncoder, so that a logger's context is filtered only when the
// logger writes.
func redactLogs(cfg map[string]any, f findings) {
	logging, _ := cfg["logging"].(map[string]any)
	if logging == nil {
		logging = map[string]any{}
		cfg["logging"] = logging
	}
	logs, _ := logging["logs"].(map[string]any)
	if logs == nil {
		logs = map[string]any{}
		logging["logs"] = logs
	}
	if _, ok := logs["default"]; !ok {
		logs["default"] = map[string]any{}
	}
	fields := redactionFields(f)
	for _, l := range logs {
		log, ok := l.(map[string]any)
		if !ok {
			continue
		}
		lazy, _ := log["encoder"].(map[string]any)
		if lazy == nil || lazy["format"] != LazyEncoderFormat {
			lazy = wrapEncoder(LazyEncoderFormat, lazy)
			log["encoder"] = lazy
		}
		enc, _ := lazy["wrap"].(map[string]any)
		if enc == nil || enc["format"] != "filter" {
			enc = wrapEncoder("filter", enc)
			lazy["wrap"] = enc
		}
		own, _ := enc["fields"].(map[string]any)
		if own == nil {
			own = map[string]any{}
			enc["fields"] = own
		}
		for path, filter := range fields {
			own[path] = filter // the gateway's redaction wins over a field filter of the same path
		}
	}
}

// wrapEncoder returns an encoder config of format that wraps enc (none:
// the wrapper's default).
func wrapEncoder(format string, enc map[string]any) map[string]any {
	wrapper := map[string]any{"format": format}
	if enc != nil {
		wrapper["wrap"] = enc
	}
	return wrapper
}

// redactionFields are the filter encoder's field filters for f.
func redactionFields(f findings) map[string]any {
	fields := map[string]any{}
	for _, name := range f.headers {
		fields["request>headers>"+name] = map[string]any{"filter": "replace", "value": Redacted}
	}
	if len(f.queries) > 0 {
		actions := make([]any, 0, len(f.queries))
		for _, q := range f.queries {
			actions = append(actions, map[string]any{"type": "replace", "parameter": q, "value": Redacted})
		}
		fields["request>uri"] = map[string]any{"filter": "query", "actions": actions}
	}
	return fields
}

// walk calls visit for every JSON object in v.
func walk(v any, visit func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		visit(x)
		for _, e := range x {
			walk(e, visit)
		}
	case []any:
		for _, e := range x {
			walk(e, visit)
		}
	}
}

func list(v any) []map[string]any {
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func strs(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
