package importapigw

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// route is one method of one resource of the export.
type route struct {
	path    string // API Gateway resource path, e.g. /pets/{petId}
	method  string // GET, POST, ... or ANY
	op      Operation
	pattern pathPattern
	matcher string // named matcher (without @), also the regexp's name
}

// pathPattern is a resource path as a regular expression over the request
// path, with the capture group of each path parameter.
type pathPattern struct {
	regexp              string
	params              map[string]int // parameter name -> capture group
	literals, templates int
	greedy              bool
}

// compilePath turns /pets/{petId}/{proxy+} into ^/pets/([^/]+)/(.+)$.
func compilePath(p string) (pathPattern, error) {
	pp := pathPattern{params: map[string]int{}}
	if p == "/" {
		pp.regexp = "^/$"
		return pp, nil
	}
	var b strings.Builder
	b.WriteString("^")
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, seg := range segs {
		b.WriteString("/")
		switch {
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "+}"):
			if i != len(segs)-1 {
				return pp, fmt.Errorf("greedy parameter %s is not the last segment", seg)
			}
			pp.params[strings.TrimSuffix(seg[1:], "+}")] = len(pp.params) + 1
			b.WriteString("(.+)")
			pp.greedy = true
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			pp.params[seg[1:len(seg)-1]] = len(pp.params) + 1
			b.WriteString("([^/]+)")
			pp.templates++
		case strings.ContainsAny(seg, "{}"):
			return pp, fmt.Errorf("segment %q mixes text and a parameter", seg)
		default:
			b.WriteString(regexp.QuoteMeta(seg))
			pp.literals++
		}
	}
	b.WriteString("$")
	pp.regexp = b.String()
	return pp, nil
}

// collectRoutes reads every method of the export, most specific first (as
// API Gateway matches: literal segments before parameters before a greedy
// {proxy+}; a method before ANY), and gathers the CORS policy of the
// OPTIONS mock integrations.
func (g *generator) collectRoutes(e *Export) ([]route, error) {
	var routes []route
	for _, path := range sortedKeys(e.Paths) {
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("export path %q does not start with /", path)
		}
		pp, err := compilePath(path)
		if err != nil {
			g.ns.add(path, "path", "%v; this resource is not routed, add it by hand", err)
			continue
		}
		methods, ops, err := operations(e.Paths[path])
		if err != nil {
			return nil, fmt.Errorf("export path %s: %v", path, err)
		}
		for _, m := range methods {
			op := ops[m]
			if m == "OPTIONS" && g.collectCORS(path, op) {
				continue
			}
			routes = append(routes, route{path: path, method: m, op: op, pattern: pp})
		}
	}
	sort.SliceStable(routes, func(i, j int) bool {
		a, b := routes[i].pattern, routes[j].pattern
		if a.greedy != b.greedy {
			return !a.greedy
		}
		if a.templates != b.templates {
			return a.templates < b.templates
		}
		if a.literals != b.literals {
			return a.literals > b.literals
		}
		if routes[i].path != routes[j].path {
			return routes[i].path < routes[j].path
		}
		return (routes[i].method == "ANY") != (routes[j].method == "ANY") && routes[j].method == "ANY"
	})
	for i := range routes {
		routes[i].matcher = g.matcherName(routes[i].method, routes[i].path)
	}
	return routes, nil
}

var matcherDisallowed = regexp.MustCompile(`[^A-Za-z0-9]+`)

// matcherName returns a unique matcher name such as get_pets_petId.
func (g *generator) matcherName(method, path string) string {
	base := strings.ToLower(method) + "_" + strings.Trim(matcherDisallowed.ReplaceAllString(path, "_"), "_")
	base = strings.TrimSuffix(base, "_")
	name := base
	for i := 2; g.matchers[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	g.matchers[name] = true
	return name
}

// writeRoute writes the matcher and handle block of one method.
func (g *generator) writeRoute(w *cfWriter, rt route) {
	where := rt.method + " " + rt.path
	w.blank()
	w.comment(where)
	w.open("@" + rt.matcher)
	if rt.method != "ANY" {
		w.line("method", rt.method)
	}
	w.line("path_regexp", rt.matcher, quote(rt.pattern.regexp))
	w.close()
	w.open("handle", "@"+rt.matcher)
	g.writeMethod(w, rt, where)
	w.close()
}

// writeMethod writes the authorization, usage plan and integration of a
// method.
func (g *generator) writeMethod(w *cfWriter, rt route, where string) {
	auth := g.authOf(rt.op, where)
	g.noteValidator(rt.op, where)
	if auth.refuse != "" {
		w.comment("Refused until the authorizer is migrated: " + auth.refuse)
		w.line("header", "Content-Type", "application/json")
		w.line("respond", quote(`{"message":"Unauthorized"}`), "401")
		return
	}
	for _, pool := range auth.cognito {
		w.open("jwt_auth")
		for _, issuer := range pool.issuers {
			w.line("oidc", issuer)
		}
		if len(pool.scopes) > 0 {
			w.line(append([]string{"require_scopes"}, pool.scopes...)...)
		}
		w.close()
	}
	if auth.apiKey {
		w.line(append([]string{"usage_plan"}, g.routePlans...)...)
	}
	in := rt.op.Integration
	if in == nil {
		g.ns.add(where, "x-amazon-apigateway-integration", "the method has no integration; it answers 500 until you add an upstream")
		g.writeUnmigrated(w, "no integration")
		return
	}
	switch strings.ToLower(in.Type) {
	case "http_proxy", "http":
		g.writeHTTP(w, rt, in, where)
	case "aws_proxy":
		g.writeLambda(w, in, where)
	case "mock":
		g.writeMock(w, in, where)
	default:
		g.ns.add(where, "x-amazon-apigateway-integration.type="+in.Type,
			"AWS service integrations (%s) call an AWS API with a mapping template; put a small HTTP service in front of that AWS API and proxy to it; the method answers 500 until then", in.URI)
		g.writeUnmigrated(w, "an AWS service integration")
	}
	g.noteIntegration(in, where)
}

// writeUnmigrated answers 500 for a method whose backend is not migrated.
func (g *generator) writeUnmigrated(w *cfWriter, what string) {
	w.comment("Not migrated (" + what + "): see the import notes.")
	w.line("header", "Content-Type", "application/json")
	w.line("respond", quote(`{"message":"Internal server error"}`), "500")
}

// noteIntegration reports integration settings with no counterpart.
func (g *generator) noteIntegration(in *Integration, where string) {
	if len(in.CacheKeyParameters) > 0 || in.CacheNamespace != "" {
		g.ns.add(where, "cacheKeyParameters/cacheNamespace", "the stage cache is not reproduced; responses are not cached at the gateway")
	}
	if in.ContentHandling != "" && !strings.EqualFold(in.Type, "mock") {
		g.ns.add(where, "contentHandling="+in.ContentHandling, "bodies pass through unconverted (no base64 conversion)")
	}
}

// authorization is what a method requires of a caller.
type authorization struct {
	apiKey  bool
	cognito []cognitoPool
	refuse  string // non-empty: an authorizer the Caddyfile cannot express
}

type cognitoPool struct {
	issuers, scopes []string
}

var cognitoARN = regexp.MustCompile(`^arn:aws[a-z-]*:cognito-idp:([a-z0-9-]+):\d+:userpool/([A-Za-z0-9_-]+)$`)

// authOf reads a method's security requirements.
func (g *generator) authOf(op Operation, where string) authorization {
	e := g.in.Export
	reqs := e.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	schemes := e.securitySchemes()
	var a authorization
	for _, req := range reqs {
		for _, name := range sortedKeys(req) {
			s, ok := schemes[name]
			if !ok {
				g.ns.add(where, "security "+name, "no such security scheme in the export; ignored")
				continue
			}
			switch {
			case strings.EqualFold(s.AuthType, "cognito_user_pools") || (s.Authorizer != nil && strings.EqualFold(s.Authorizer.Type, "cognito_user_pools")):
				pool := cognitoPool{scopes: req[name]}
				if s.Authorizer != nil {
					for _, arn := range s.Authorizer.ProviderARNs {
						m := cognitoARN.FindStringSubmatch(arn)
						if m == nil {
							g.ns.add(where, "providerARNs "+arn, "not a Cognito user pool ARN; write the jwt_auth oidc line by hand")
							continue
						}
						pool.issuers = append(pool.issuers, "https://cognito-idp."+m[1]+".amazonaws.com/"+m[2])
					}
				}
				if len(pool.issuers) == 0 {
					a.refuse = "Cognito authorizer " + name + " without a user pool ARN"
					continue
				}
				a.cognito = append(a.cognito, pool)
				g.noteOnce("cognito "+name, "authorizer "+name, "cognito_user_pools",
					"verified by jwt_auth with the pool's OIDC discovery; jwt_auth reads `Authorization: Bearer <token>`, where API Gateway also took the bare token (add `from header Authorization` only if clients send it bare); access tokens carry no aud, ID tokens do: add `audience <app client id>` to accept only your app's tokens")
			case strings.EqualFold(s.AuthType, "custom") || s.Authorizer != nil:
				ttl := "300"
				if s.Authorizer != nil && s.Authorizer.AuthorizerResultTTLInSeconds != nil {
					ttl = strconv.FormatInt(*s.Authorizer.AuthorizerResultTTLInSeconds, 10)
				}
				typ := "token"
				if s.Authorizer != nil && s.Authorizer.Type != "" {
					typ = strings.ToLower(s.Authorizer.Type)
				}
				a.refuse = fmt.Sprintf("Lambda authorizer %s (%s, result cached %ss)", name, typ, ttl)
				g.noteOnce("authorizer "+name, "authorizer "+name, "x-amazon-apigateway-authorizer type="+typ,
					"the methods it protects answer 401 until you put the authorizer logic behind forward_auth (with auth_cache for its %ss result cache); see the custom authorizer recipe in docs/migration-from-api-gateway.md", ttl)
			case strings.EqualFold(s.AuthType, "awsSigv4"):
				a.refuse = "IAM (SigV4) authorization"
				g.noteOnce("sigv4", where, "security "+name+" (awsSigv4)",
					"IAM-signed requests cannot be verified by the gateway; such methods answer 401: switch their callers to API keys or JWTs")
			case strings.EqualFold(s.Type, "apiKey"):
				a.apiKey = true
				if !strings.EqualFold(s.Name, "x-api-key") || !strings.EqualFold(s.In, "header") {
					g.noteOnce("apikey-source", "security scheme "+name, fmt.Sprintf("%s in %s", s.Name, s.In),
						"API Gateway reads keys from the x-api-key header; so does the generated usage_plan (key_source header X-Api-Key)")
				}
			default:
				g.ns.add(where, "security "+name+" ("+s.Type+")", "unknown scheme type; not enforced")
			}
		}
	}
	return a
}

// noteValidator reports request validation, which the gateway does not do.
func (g *generator) noteValidator(op Operation, where string) {
	e := g.in.Export
	name := op.RequestValidator
	if name == "" {
		name = e.RequestValidator
	}
	v, ok := e.RequestValidators[name]
	if name == "" || !ok || (!v.ValidateRequestBody && !v.ValidateRequestParameters) {
		return
	}
	var what []string
	if v.ValidateRequestBody {
		what = append(what, "the body against its model")
	}
	if v.ValidateRequestParameters {
		what = append(what, "required parameters")
	}
	g.ns.add(where, "x-amazon-apigateway-request-validator="+name,
		"API Gateway checked %s (400 before the backend); the gateway passes the request on unchecked: validate in the upstream (a FastAPI/pydantic model answers 422), json_map rejects bodies that are not JSON objects", strings.Join(what, " and "))
}
