package importapigw

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

var (
	uriParam     = regexp.MustCompile(`\{([^{}]+)\}`)
	envDisallow  = regexp.MustCompile(`[^A-Z0-9]+`)
	lambdaFnName = regexp.MustCompile(`:function:([A-Za-z0-9_-]+)`)
)

// envName turns "api.gpu.example.com" into "API_GPU_EXAMPLE_COM".
func envName(s string) string {
	return strings.Trim(envDisallow.ReplaceAllString(strings.ToUpper(s), "_"), "_")
}

// splitURI splits an integration URI into scheme://host and path (which
// keeps {param} templates) and query.
func splitURI(uri string) (origin, path, query string, ok bool) {
	i := strings.Index(uri, "://")
	if i <= 0 {
		return "", "", "", false
	}
	rest := uri[i+3:]
	j := strings.IndexAny(rest, "/?")
	if j < 0 {
		return uri, "", "", true
	}
	origin, rest = uri[:i+3+j], rest[j:]
	if k := strings.Index(rest, "?"); k >= 0 {
		rest, query = rest[:k], rest[k+1:]
	}
	return origin, rest, query, origin != uri[:i+3]
}

// writeHTTP writes an HTTP or HTTP_PROXY integration as reverse_proxy.
func (g *generator) writeHTTP(w *cfWriter, rt route, in *Integration, where string) {
	origin, path, query, ok := splitURI(in.URI)
	if !ok || strings.Contains(origin, "${") {
		g.ns.add(where, "uri="+in.URI, "not a plain http(s) URL (stage variables are not available); set GPUGATE_UPSTREAM to the backend")
		origin = ""
	}
	var up string
	if origin == "" {
		up = g.addEnv("GPUGATE_UPSTREAM", "127.0.0.1:9000", "the backend of integrations whose URI could not be read")
	} else {
		host := origin[strings.Index(origin, "://")+3:]
		up = g.addEnv("GPUGATE_UPSTREAM_"+envName(host), origin, "HTTP integration "+origin)
	}
	if strings.EqualFold(in.Type, "http") {
		g.ns.add(where, "type=http (non-proxy)",
			"the request and response mapping templates are not applied: the request reaches the backend as the client sent it; express simple field moves with json_map (modules/jsonmap)")
	}
	if strings.EqualFold(in.ConnectionType, "VPC_LINK") {
		g.ns.add(where, "connectionType=VPC_LINK "+in.ConnectionID, "run the gateway where it reaches %s directly (inside the VPC); there is no VPC link", origin)
	}
	if query != "" {
		g.ns.add(where, "uri query ?"+query, "the integration URI's query is not added; the client's query string is passed on")
	}
	var headers [][2]string
	for _, key := range sortedKeys(in.RequestParameters) {
		src := in.RequestParameters[key]
		switch {
		case strings.HasPrefix(key, "integration.request.header."):
			if v, ok := g.requestValue(rt, src, where, key); ok {
				headers = append(headers, [2]string{strings.TrimPrefix(key, "integration.request.header."), v})
			}
		case strings.HasPrefix(key, "integration.request.path."):
			// used by backendPath
		default:
			g.ns.add(where, "requestParameters "+key+"="+src, "not mapped (the client's query string is passed on as it is); add a rewrite by hand if the backend needs it")
		}
	}
	// The URI and method change only for the upstream request: usage_plan
	// and the access log see what the client sent. Caddy sends an HTTPS
	// upstream its own host name, as API Gateway did.
	sub := &cfWriter{depth: w.depth + 1}
	if in.HTTPMethod != "" && !strings.EqualFold(in.HTTPMethod, "ANY") && !strings.EqualFold(in.HTTPMethod, rt.method) {
		sub.line("method", strings.ToUpper(in.HTTPMethod))
	}
	if target := g.backendPath(rt, in, path, where); target != g.backendPath(rt, &Integration{}, rt.path, where) {
		sub.line("rewrite", quote(target))
	}
	for _, h := range headers {
		sub.line("header_up", quote(h[0]), quote(h[1]))
	}
	var tls struct {
		Insecure bool `json:"insecureSkipVerification"`
	}
	_ = json.Unmarshal(in.TLSConfig, &tls)
	if tls.Insecure || (in.TimeoutInMillis > 0 && in.TimeoutInMillis != 29000) {
		sub.open("transport", "http")
		if tls.Insecure {
			sub.line("tls_insecure_skip_verify")
			g.ns.add(where, "tlsConfig.insecureSkipVerification=true", "written as tls_insecure_skip_verify; give the backend a trusted certificate and remove it")
		}
		if in.TimeoutInMillis > 0 && in.TimeoutInMillis != 29000 {
			sub.line("response_header_timeout", strconv.FormatInt(in.TimeoutInMillis, 10)+"ms")
		}
		sub.close()
	}
	if sub.buf.Len() == 0 {
		w.line("reverse_proxy", up)
		return
	}
	w.open("reverse_proxy", up)
	w.buf.Write(sub.buf.Bytes())
	w.close()
}

// backendPath returns the rewrite target for an integration URI path,
// with {param} replaced by the method's path parameters.
func (g *generator) backendPath(rt route, in *Integration, path, where string) string {
	if path == "" {
		return "/"
	}
	return uriParam.ReplaceAllStringFunc(path, func(m string) string {
		name := strings.TrimSuffix(m[1:len(m)-1], "+")
		src, ok := in.RequestParameters["integration.request.path."+name]
		if !ok {
			if _, same := rt.pattern.params[name]; same {
				src = "method.request.path." + name
			} else {
				g.ns.add(where, "uri parameter "+m, "not mapped by requestParameters; left empty")
				return ""
			}
		}
		v, _ := g.requestValue(rt, src, where, "integration.request.path."+name)
		return v
	})
}

// placeholder returns the Caddy placeholder of a path parameter of the route.
func (rt route) placeholder(param string) (string, bool) {
	i, ok := rt.pattern.params[param]
	if !ok {
		return "", false
	}
	return "{re." + rt.matcher + "." + strconv.Itoa(i) + "}", true
}

// clientValue translates the parameter sources that mean the same in a
// request mapping and a gateway response: a 'static' value, a request
// header, a query parameter.
func clientValue(src string) (string, bool) {
	switch {
	case len(src) >= 2 && strings.HasPrefix(src, "'") && strings.HasSuffix(src, "'"):
		return src[1 : len(src)-1], true
	case strings.HasPrefix(src, "method.request.header."):
		return "{http.request.header." + strings.TrimPrefix(src, "method.request.header.") + "}", true
	case strings.HasPrefix(src, "method.request.querystring."):
		return "{http.request.uri.query." + strings.TrimPrefix(src, "method.request.querystring.") + "}", true
	}
	return "", false
}

// requestValue translates a requestParameters source into a Caddy value.
func (g *generator) requestValue(rt route, src, where, key string) (string, bool) {
	if v, ok := clientValue(src); ok {
		return v, true
	}
	switch {
	case strings.HasPrefix(src, "method.request.path."):
		if p, ok := rt.placeholder(strings.TrimPrefix(src, "method.request.path.")); ok {
			return p, true
		}
	case src == "context.requestId" || src == "context.extendedRequestId":
		return "{http.request.uuid}", true
	case src == "context.identity.sourceIp":
		return "{http.request.remote.host}", true
	case src == "context.httpMethod":
		return "{http.request.method}", true
	}
	g.ns.add(where, "requestParameters "+key+"="+src, "no gateway counterpart for this source; not mapped")
	return "", false
}

// writeLambda writes an AWS_PROXY (Lambda proxy) integration.
func (g *generator) writeLambda(w *cfWriter, in *Integration, where string) {
	fn := "FUNCTION"
	if m := lambdaFnName.FindStringSubmatch(in.URI); m != nil {
		fn = m[1]
	}
	up := g.addEnv("GPUGATE_UPSTREAM_LAMBDA_"+envName(fn), "127.0.0.1:8000", "the HTTP server that replaces Lambda function "+fn)
	g.noteOnce("lambda "+fn, "Lambda function "+fn, "type=aws_proxy",
		"the gateway does not invoke Lambda: run the function's app as an HTTP server (a FastAPI app behind Mangum runs under uvicorn as it is) and set GPUGATE_UPSTREAM_LAMBDA_%s to it; the request arrives as the client sent it, not as a Lambda event", envName(fn))
	w.line("reverse_proxy", up)
}

// writeMock writes a MOCK integration as a static response.
func (g *generator) writeMock(w *cfWriter, in *Integration, where string) {
	status, resp := mockResponse(in)
	for _, key := range sortedKeys(resp.ResponseParameters) {
		v := resp.ResponseParameters[key]
		name, isHeader := strings.CutPrefix(key, "method.response.header.")
		if !isHeader || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
			g.ns.add(where, "responseParameters "+key+"="+v, "only static header values ('...') of mock responses are written")
			continue
		}
		if g.cors != nil && strings.HasPrefix(strings.ToLower(name), "access-control-") {
			continue // the cors directive sets them
		}
		w.line("header", quote(name), quote(v[1:len(v)-1]))
	}
	body, ctype := "", ""
	for _, ct := range sortedKeys(resp.ResponseTemplates) {
		if body == "" || ct == "application/json" {
			body, ctype = resp.ResponseTemplates[ct], ct
		}
	}
	if strings.ContainsAny(body, "$#") {
		g.ns.add(where, "mock responseTemplates", "a VTL template is written as its literal text; replace its $variables by hand")
	}
	if body == "" {
		w.line("respond", status)
		return
	}
	w.line("header", "Content-Type", quote(ctype))
	w.line("respond", quote(body), status)
}

var mockStatus = regexp.MustCompile(`"statusCode"\s*:\s*(\d{3})`)

// mockResponse picks the integration response a mock's request template
// selects: the response whose selection pattern matches the status code
// of {"statusCode": N}, else the default one.
func mockResponse(in *Integration) (string, IntegrationResponse) {
	code := "200"
	if m := mockStatus.FindStringSubmatch(in.RequestTemplates["application/json"]); m != nil {
		code = m[1]
	}
	for _, pattern := range sortedKeys(in.Responses) {
		if pattern == "default" {
			continue
		}
		if re, err := regexp.Compile("^(?:" + pattern + ")$"); err == nil && re.MatchString(code) {
			return statusOr(in.Responses[pattern].StatusCode, code), in.Responses[pattern]
		}
	}
	if r, ok := in.Responses["default"]; ok {
		return statusOr(r.StatusCode, code), r
	}
	return code, IntegrationResponse{}
}

func statusOr(s, def string) string {
	if _, err := strconv.Atoi(s); err == nil {
		return s
	}
	return def
}
