package jwtauth

import (
	"encoding/json"
	"strconv"
	"strings"
)

// lookupClaim finds a claim by name; a dotted name walks into nested
// objects ("realm_access.roles"). A claim whose own name contains dots
// ("https://example.com/tenant") is found by its full name first.
func lookupClaim(claims map[string]any, name string) (any, bool) {
	if v, ok := claims[name]; ok {
		return v, true
	}
	var cur any = claims
	for part := range strings.SplitSeq(name, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// claimString renders a claim value for a placeholder or header: strings
// as they are, numbers without exponent, arrays of scalars joined with
// commas, objects as JSON.
func claimString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if _, nested := e.(map[string]any); nested {
				b, _ := json.Marshal(x)
				return string(b)
			}
			parts = append(parts, claimString(e))
		}
		return strings.Join(parts, ",")
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(b)
	}
}

// scopesOf returns the token's scopes from "scope" (RFC 8693: a
// space-separated string) and "scp" (Azure AD / Okta: a string or an
// array).
func scopesOf(claims map[string]any) []string {
	var out []string
	for _, name := range [...]string{"scope", "scp"} {
		switch v := claims[name].(type) {
		case string:
			out = append(out, strings.Fields(v)...)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// missingScopes returns the required scopes the token does not grant.
func missingScopes(claims map[string]any, required []string) []string {
	if len(required) == 0 {
		return nil
	}
	granted := scopesOf(claims)
	var missing []string
	for _, want := range required {
		found := false
		for _, g := range granted {
			if g == want {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, want)
		}
	}
	return missing
}

// claimPresent reports whether a claim exists and is not null or empty.
func claimPresent(claims map[string]any, name string) bool {
	v, ok := lookupClaim(claims, name)
	if !ok || v == nil {
		return false
	}
	if s, isString := v.(string); isString {
		return s != ""
	}
	return true
}

// sanitizeHeaderValue drops control characters so that a claim can never
// split or corrupt an upstream header.
func sanitizeHeaderValue(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c < 0x20 && c != '\t' || c == 0x7f) {
			b.WriteByte(c)
		}
	}
	return b.String()
}
