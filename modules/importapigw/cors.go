package importapigw

import (
	"slices"
	"strconv"
	"strings"
)

// corsPolicy is the union of the OPTIONS mock integrations' CORS headers,
// written as one site-wide cors directive.
type corsPolicy struct {
	origins, methods, headers, expose []string
	credentials                       bool
	maxAge                            string
	paths                             []string
}

// collectCORS reads an OPTIONS method. When it is a mock integration that
// answers with Access-Control-Allow-Origin (the console's "Enable CORS"),
// its headers join the site's cors policy and true is returned: the cors
// directive answers preflights at the gateway instead.
func (g *generator) collectCORS(path string, op Operation) bool {
	in := op.Integration
	if in == nil || !strings.EqualFold(in.Type, "mock") {
		return false
	}
	_, resp := mockResponse(in)
	header := func(name string) (string, bool) {
		for k, v := range resp.ResponseParameters {
			if strings.EqualFold(k, "method.response.header."+name) && len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
				return v[1 : len(v)-1], true
			}
		}
		return "", false
	}
	origin, ok := header("Access-Control-Allow-Origin")
	if !ok {
		return false
	}
	if g.cors == nil {
		g.cors = &corsPolicy{}
	}
	c := g.cors
	c.paths = append(c.paths, path)
	c.origins = union(c.origins, splitList(origin))
	if v, ok := header("Access-Control-Allow-Methods"); ok {
		var ms []string
		for _, m := range splitList(v) {
			if m != "OPTIONS" {
				ms = append(ms, strings.ToUpper(m))
			}
		}
		c.methods = union(c.methods, ms)
	}
	if v, ok := header("Access-Control-Allow-Headers"); ok {
		c.headers = union(c.headers, splitList(v))
	}
	if v, ok := header("Access-Control-Expose-Headers"); ok {
		c.expose = union(c.expose, splitList(v))
	}
	if v, ok := header("Access-Control-Allow-Credentials"); ok && strings.EqualFold(v, "true") {
		c.credentials = true
	}
	if v, ok := header("Access-Control-Max-Age"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			c.maxAge = v + "s"
		}
	}
	return true
}

// splitList splits "a,b, c" into [a b c].
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// union appends the items of b missing from a (case-insensitively).
func union(a, b []string) []string {
	for _, x := range b {
		if !slices.ContainsFunc(a, func(y string) bool { return strings.EqualFold(x, y) }) {
			a = append(a, x)
		}
	}
	return a
}

// write writes the cors directive.
func (c *corsPolicy) write(w *cfWriter) {
	w.comment("From the OPTIONS mock integrations of " + strings.Join(c.paths, ", ") + ": preflights are answered here,")
	w.comment("and every answer to an allowed origin (gateway errors included) carries the CORS headers.")
	w.open("cors")
	origins := c.origins
	if slices.Contains(origins, "*") {
		origins = []string{"*"}
	}
	w.line(append([]string{"origins"}, quoteAll(origins)...)...)
	if len(c.methods) > 0 {
		w.line(append([]string{"methods"}, c.methods...)...)
	}
	if len(c.headers) > 0 {
		w.line(append([]string{"headers"}, quoteAll(c.headers)...)...)
	}
	if len(c.expose) > 0 {
		w.line(append([]string{"expose_headers"}, quoteAll(c.expose)...)...)
	}
	if c.credentials {
		w.line("credentials")
	}
	if c.maxAge != "" {
		w.line("max_age", c.maxAge)
	}
	w.close()
}

func quoteAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = quote(s)
	}
	return out
}
