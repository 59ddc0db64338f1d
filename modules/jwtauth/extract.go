package jwtauth

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gpugate/gpugate/modules/internal/upstream"
)

// TokenLocation is one place jwt_auth looks for the token.
type TokenLocation struct {
	// From is "header", "cookie" or "query".
	From string `json:"from"`
	// Name is the header, cookie or query parameter name.
	Name string `json:"name"`
}

// defaultLocation is Authorization: Bearer.
var defaultLocation = TokenLocation{From: "header", Name: "Authorization"}

// validate checks one location; the error names the directive.
func (l TokenLocation) validate() error {
	switch l.From {
	case "header", "cookie", "query":
	default:
		return fmt.Errorf("jwt_auth from: unknown source %q; write `from header <Name>`, `from cookie <name>` or `from query <name>`", l.From)
	}
	if l.Name == "" {
		return fmt.Errorf("jwt_auth from %s: a name is required, e.g. `from %s %s`", l.From, l.From, map[string]string{
			"header": "X-Auth-Token", "cookie": "session", "query": "access_token"}[l.From])
	}
	return nil
}

// errAmbiguousToken means the credential was sent more than once.
var errAmbiguousToken = fmt.Errorf("more than one token was sent")

// tokenFrom returns the token at l ("" when absent). A header may carry
// "Bearer <token>" or the bare token; Authorization must use Bearer.
func tokenFrom(r *http.Request, l TokenLocation) (string, error) {
	switch l.From {
	case "header":
		values := r.Header.Values(l.Name)
		if len(values) == 0 {
			return "", nil
		}
		if len(values) > 1 {
			return "", errAmbiguousToken
		}
		v := strings.TrimSpace(values[0])
		if scheme, rest, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(rest), nil
		}
		if strings.EqualFold(l.Name, "Authorization") {
			return "", nil // another scheme (Basic, ...): not a bearer token
		}
		return v, nil
	case "cookie":
		c, err := r.Cookie(l.Name)
		if err != nil {
			return "", nil
		}
		return c.Value, nil
	case "query":
		values := r.URL.Query()[l.Name]
		if len(values) > 1 {
			return "", errAmbiguousToken
		}
		if len(values) == 1 {
			return values[0], nil
		}
	}
	return "", nil
}

// removeCredential deletes the token at l from the request so that it
// does not reach the upstream.
func removeCredential(r *http.Request, l TokenLocation) {
	switch l.From {
	case "header":
		r.Header.Del(l.Name)
		// Also for gpugate's upstream client, should a later handler put it back.
		upstream.MarkCredentialHeader(r, l.Name)
	case "cookie":
		removeCookie(r, l.Name)
	case "query":
		q := r.URL.Query()
		if _, ok := q[l.Name]; ok {
			q.Del(l.Name)
			r.URL.RawQuery = q.Encode()
		}
	}
}

// removeCookie rewrites the Cookie header without the named cookie.
func removeCookie(r *http.Request, name string) {
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name != name {
			r.AddCookie(c)
		}
	}
}
