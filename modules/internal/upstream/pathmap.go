package upstream

import (
	"errors"
	"net/url"
	"strings"
)

// ErrUnsafePath rejects request paths that could step outside the
// configured upstream path, or mean another path, once some server along
// the way decodes them: every path that is not canonical
// (CheckCanonicalPath).
var ErrUnsafePath = ErrNonCanonicalPath

// ErrPrefixMismatch means the request path is not under the configured
// client-side prefix.
var ErrPrefixMismatch = errors.New("path is not under the configured prefix")

// segment is one path segment, kept both as received (escaped, so %20 and
// friends reach the upstream unchanged) and decoded (for comparisons).
type segment struct {
	escaped string
	decoded string
}

// SplitPath splits an escaped absolute path into checked segments, in
// their escaped form; a trailing slash is kept as a final empty segment.
// A path that is not canonical (CheckCanonicalPath: "//", dot segments,
// ";" parameters, encoded "/", "\" or "%", percent-encoded letters,
// invalid UTF-8, ...) is refused with ErrUnsafePath rather than normalised:
// a request that tries them is not a request a client makes by accident.
func SplitPath(escaped string) ([]string, error) {
	segs, err := parseSegments(escaped)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = s.escaped
	}
	return out, nil
}

func parseSegments(escaped string) ([]segment, error) {
	if escaped == "" || escaped == "/" {
		return nil, nil
	}
	if err := CheckCanonicalPath(escaped); err != nil {
		return nil, ErrUnsafePath
	}
	segs := make([]segment, 0, strings.Count(escaped, "/"))
	for rest := escaped[1:]; ; {
		p, tail, more := strings.Cut(rest, "/")
		rest = tail
		if p == "" {
			if !more {
				segs = append(segs, segment{}) // trailing slash
				break
			}
			continue
		}
		d, err := url.PathUnescape(p)
		if err != nil || d == "." || d == ".." || strings.ContainsAny(d, "/\\") || hasControl(d) {
			return nil, ErrUnsafePath
		}
		segs = append(segs, segment{escaped: p, decoded: d})
		if !more {
			break
		}
	}
	return segs, nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// PathMapper maps a client request path onto an upstream: the part after
// the client prefix is appended to the upstream base path. It is the one
// place where gpugate's upstream modules (modal, runpod) turn a client
// path into an upstream path; the zero value maps every path onto "/".
type PathMapper struct {
	clientPrefix []string // escaped segments; empty = every path
	upstreamBase []string // escaped, non-empty segments
}

// NewPathMapper returns a mapper that strips clientPrefix (escaped
// segments as SplitPath returns them; nil for none; a trailing empty
// segment, from "/api/", matches like "/api") and prepends upstreamBase
// (escaped segments; empty ones are ignored).
func NewPathMapper(clientPrefix, upstreamBase []string) PathMapper {
	return PathMapper{
		clientPrefix: append([]string(nil), clientPrefix...),
		upstreamBase: nonEmpty(upstreamBase),
	}
}

// Map returns the upstream path for a client request path (escaped form),
// as the Path and RawPath of a url.URL (rawPath is "" when the path needs
// no escaping). The result always starts with the configured upstream
// base: segments are checked one by one, so nothing in the client path can
// climb out of it. Errors are ErrUnsafePath and ErrPrefixMismatch.
func (m PathMapper) Map(escapedPath string) (path, rawPath string, err error) {
	segs, err := parseSegments(escapedPath)
	if err != nil {
		return "", "", err
	}
	rest, ok := m.trimPrefix(segs)
	if !ok {
		return "", "", ErrPrefixMismatch
	}
	var b strings.Builder
	b.Grow(len(escapedPath) + 32)
	for _, s := range m.upstreamBase {
		if s == "" {
			continue
		}
		b.WriteByte('/')
		b.WriteString(s)
	}
	for _, s := range rest {
		b.WriteByte('/')
		b.WriteString(s.escaped)
	}
	raw := b.String()
	if raw == "" {
		raw = "/"
	}
	decoded, err := url.PathUnescape(raw)
	if err != nil {
		return "", "", ErrUnsafePath
	}
	if decoded == raw {
		return decoded, "", nil
	}
	return decoded, raw, nil
}

// trimPrefix removes the client prefix from segs, comparing decoded
// segments so /api and /%61pi match alike.
func (m PathMapper) trimPrefix(segs []segment) ([]segment, bool) {
	if len(m.clientPrefix) == 0 {
		return segs, true
	}
	prefix := m.clientPrefix
	if prefix[len(prefix)-1] == "" { // "/api/" matches like "/api"
		prefix = prefix[:len(prefix)-1]
	}
	if len(segs) < len(prefix) {
		return nil, false
	}
	for i, p := range prefix {
		d, _ := url.PathUnescape(p)
		if segs[i].decoded != d {
			return nil, false
		}
	}
	return segs[len(prefix):], true
}

// Unmap turns an upstream path back into the client-facing path, for
// Location headers passed through to the client. ok is false when the path
// is not under the upstream base.
func (m PathMapper) Unmap(escapedPath string) (string, bool) {
	segs, err := parseSegments(escapedPath)
	if err != nil {
		return "", false
	}
	base := nonEmpty(m.upstreamBase)
	if len(segs) < len(base) {
		return "", false
	}
	for i, s := range base {
		if segs[i].escaped != s {
			return "", false
		}
	}
	var b strings.Builder
	for _, s := range nonEmpty(m.clientPrefix) {
		b.WriteByte('/')
		b.WriteString(s)
	}
	for _, s := range segs[len(base):] {
		b.WriteByte('/')
		b.WriteString(s.escaped)
	}
	if b.Len() == 0 {
		return "/", true
	}
	return b.String(), true
}

func nonEmpty(segs []string) []string {
	out := segs[:0:0]
	for _, s := range segs {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
