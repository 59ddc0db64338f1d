package usageplan

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/gpugate/gpugate/modules/internal/upstream"
)

// DefaultKeyHeader is where clients present their key unless configured
// otherwise (API Gateway's header).
const DefaultKeyHeader = "X-Api-Key"

// KeySource says where a request's API key is read from.
type KeySource struct {
	// From is "header" (default), "query" or "placeholder".
	From string `json:"from,omitempty"`
	// Name is the header name, query parameter name, or placeholder such as
	// {http.auth.user.plan_key}.
	Name string `json:"name,omitempty"`
}

// validate checks the source's shape.
func (ks KeySource) validate() error {
	switch ks.From {
	case "header", "query":
		if ks.Name == "" {
			return fmt.Errorf("usage_plan: key_source %s needs a name, e.g. key_source %s X-Api-Key", ks.From, ks.From)
		}
	case "placeholder":
		if !strings.HasPrefix(ks.Name, "{") || !strings.HasSuffix(ks.Name, "}") {
			return fmt.Errorf("usage_plan: key_source placeholder %q: write a placeholder such as {http.auth.user.plan_key}", ks.Name)
		}
	default:
		return fmt.Errorf("usage_plan: key_source %q: write header <Name>, query <name> or placeholder {...}", ks.From)
	}
	return nil
}

// extract reads the key value and removes it from the request so it never
// reaches an upstream (header deleted, query parameter dropped).
func (ks KeySource) extract(r *http.Request) string {
	switch ks.From {
	case "query":
		q := r.URL.Query()
		v := q.Get(ks.Name)
		if _, ok := q[ks.Name]; ok {
			q.Del(ks.Name)
			r.URL.RawQuery = q.Encode()
			r.RequestURI = r.URL.RequestURI()
		}
		return v
	case "placeholder":
		repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
		if repl == nil {
			return ""
		}
		return repl.ReplaceKnown(ks.Name, "")
	default:
		name := textproto.CanonicalMIMEHeaderKey(ks.Name)
		v := r.Header.Get(name)
		r.Header.Del(name)
		// Also for gpugate's upstream client, should a later handler put it back.
		upstream.MarkCredentialHeader(r, name)
		return strings.TrimSpace(v)
	}
}
