package cors

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// originMatcher decides whether a request's Origin is allowed.
type originMatcher struct {
	any       bool                // "*": every origin
	exact     map[string]struct{} // normalized "scheme://host[:port]"
	wildcards []wildcardOrigin    // "scheme://*.domain[:port]"
}

// wildcardOrigin matches every subdomain of a domain (not the domain
// itself) with one scheme and port.
type wildcardOrigin struct {
	prefix string // "https://"
	suffix string // ".example.com" or ".example.com:8443"
}

// newOriginMatcher parses the configured origins.
func newOriginMatcher(origins []string) (*originMatcher, error) {
	m := &originMatcher{exact: make(map[string]struct{})}
	if len(origins) == 0 {
		return nil, fmt.Errorf("cors: no origins; write e.g. origins https://app.example.com https://*.example.com (or * for any origin)")
	}
	for _, o := range origins {
		if o == "*" {
			if len(origins) > 1 {
				return nil, fmt.Errorf("cors: origin * already allows every origin; remove the other origins or remove *")
			}
			m.any = true
			continue
		}
		norm, wildcard, err := ParseOrigin(o)
		if err != nil {
			return nil, err
		}
		if wildcard {
			scheme, rest, _ := strings.Cut(norm, "://")
			m.wildcards = append(m.wildcards, wildcardOrigin{prefix: scheme + "://", suffix: rest[1:]})
		} else {
			m.exact[norm] = struct{}{}
		}
	}
	return m, nil
}

// ParseOrigin checks a configured origin and returns its normalized form
// (lower case, default port removed) and whether it is a wildcard
// subdomain pattern such as https://*.example.com.
func ParseOrigin(origin string) (normalized string, wildcard bool, err error) {
	bad := func(why, instead string) (string, bool, error) {
		return "", false, fmt.Errorf("cors: invalid origin %q: %s; write %s", origin, why, instead)
	}
	const example = "scheme://host[:port], e.g. https://app.example.com or https://*.example.com"
	if strings.EqualFold(origin, "null") {
		return bad("the null origin is sent by sandboxed frames and file:// pages and cannot be trusted", "real origins")
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return bad("not of the form scheme://host[:port]", example)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("the scheme must be http or https", example)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return bad("an origin has no user, path, query or fragment", u.Scheme+"://"+u.Host)
	}
	if u.Path == "/" {
		return bad("an origin has no trailing slash", u.Scheme+"://"+u.Host)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = "" // browsers never send the default port
	}
	hostport := host
	if port != "" {
		hostport = net.JoinHostPort(host, port)
	}
	norm := u.Scheme + "://" + hostport
	if strings.Contains(host, "*") {
		domain, ok := strings.CutPrefix(host, "*.")
		if !ok || strings.Contains(domain, "*") {
			return bad("* may only stand for the leftmost labels", "https://*.example.com")
		}
		if !validHostname(domain) {
			return bad("the domain after *. is not a host name", "https://*.example.com")
		}
		if ps, _ := publicsuffix.PublicSuffix(domain); ps == domain {
			return bad(fmt.Sprintf("*.%s would allow sites of anyone under the public suffix %s", domain, domain),
				"a wildcard under your own domain, e.g. https://*.example.com")
		}
		return norm, true, nil
	}
	if net.ParseIP(strings.Trim(host, "[]")) == nil && !validHostname(host) {
		return bad("the host is not a valid host name", example)
	}
	return norm, false, nil
}

// validHostname reports whether s is a dot-separated list of non-empty
// labels of letters, digits and hyphens.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || !validLabels(label) {
			return false
		}
	}
	return true
}

// validLabels reports whether s holds only host name characters and dots
// between non-empty labels.
func validLabels(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	prevDot := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if prevDot {
				return false
			}
			prevDot = true
			continue
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
		prevDot = false
	}
	return true
}

// allowed reports whether the Origin request header value is allowed.
func (m *originMatcher) allowed(origin string) bool {
	if m.any {
		return true
	}
	o := lowerASCII(origin)
	if _, ok := m.exact[o]; ok {
		return true
	}
	for _, w := range m.wildcards {
		if rest, ok := strings.CutPrefix(o, w.prefix); ok {
			if sub, ok := strings.CutSuffix(rest, w.suffix); ok && validLabels(sub) {
				return true
			}
		}
	}
	return false
}

// lowerASCII lower-cases s, without allocating when it already is.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
