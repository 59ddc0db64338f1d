package upstream

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// ErrNonCanonicalPath refuses a request path that servers along the way
// could resolve differently from the gateway's matchers: what the gateway
// throttles, charges or protects as one path must be the path the upstream
// serves.
var ErrNonCanonicalPath = errors.New("path must not contain dot segments, ';' parameters, empty or blank-edged " +
	"segments, encoded '%', '/' or '\\', percent-encoded letters or digits, backslashes, control " +
	"characters or invalid UTF-8")

// CheckCanonicalPath reports ErrNonCanonicalPath unless escaped (a
// request's path as sent, e.g. r.URL.EscapedPath()) is in the one form that
// every server decodes alike. It refuses, rather than normalises, because
// each refused form is one that some framework resolves to another path
// than Caddy's matchers see: ";x" path parameters (Tomcat, Spring), "%2e%2e"
// after a second decoding ("%25"), overlong UTF-8 ("%C0%AE"), "%61pi" for
// "api", "generate%20", "generate.", "a//b", dot segments, encoded slashes
// and backslashes. The root "/" and a trailing slash are fine.
func CheckCanonicalPath(escaped string) error {
	if escaped == "" {
		return nil
	}
	if escaped[0] != '/' {
		return ErrNonCanonicalPath
	}
	rest := escaped[1:]
	for {
		seg, tail, more := strings.Cut(rest, "/")
		last := !more
		if seg == "" {
			if last {
				return nil // "/" or a trailing slash
			}
			return ErrNonCanonicalPath // "//"
		}
		if err := checkCanonicalSegment(seg); err != nil {
			return err
		}
		if last {
			return nil
		}
		rest = tail
	}
}

// checkCanonicalSegment checks one non-empty escaped segment.
func checkCanonicalSegment(seg string) error {
	var decoded []byte // seg decoded, made at its first '%'
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c == ';' || c == '\\' || c < 0x20 || c == 0x7f:
			return ErrNonCanonicalPath
		case c == '%':
			if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
				return ErrNonCanonicalPath
			}
			b := unhex(seg[i+1])<<4 | unhex(seg[i+2])
			if isUnreserved(b) || b == '%' || b == '/' || b == '\\' || b == ';' || b < 0x20 || b == 0x7f {
				return ErrNonCanonicalPath
			}
			if decoded == nil {
				decoded = append(make([]byte, 0, len(seg)), seg[:i]...)
			}
			decoded = append(decoded, b)
			i += 2
		default:
			if decoded != nil {
				decoded = append(decoded, c)
			}
		}
	}
	d := seg
	if decoded != nil {
		d = string(decoded)
	}
	if d == "." || d == ".." || !utf8.ValidString(d) || strings.TrimSpace(d) != d || strings.HasSuffix(d, ".") {
		return ErrNonCanonicalPath
	}
	return nil
}

// isUnreserved reports RFC 3986's unreserved characters, which a
// canonical URI never percent-encodes (section 6.2.2.2).
func isUnreserved(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '.' || b == '_' || b == '~'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
