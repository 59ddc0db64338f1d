package gwerror

import (
	"encoding/json"
	"html"
	"mime"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// template is a body or header template compiled once: literal text and
// placeholders. Only {name} with name made of letters, digits, '.', '_'
// and '-' is a placeholder, so JSON braces in a body need no escaping.
type template struct {
	parts []part
}

// part is a literal (key == "") or a placeholder.
type part struct {
	literal string
	key     string
}

// The placeholders every template knows besides Caddy's.
const (
	keyMessage   = "message"
	keyStatus    = "status"
	keyType      = "type"
	keyRequestID = "request_id"
)

// compileTemplate splits s into literals and placeholders.
func compileTemplate(s string) template {
	var t template
	lit := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		end := i + 1
		for end < len(s) && isKeyByte(s[end]) {
			end++
		}
		if end == i+1 || end >= len(s) || s[end] != '}' {
			continue
		}
		if lit < i {
			t.parts = append(t.parts, part{literal: s[lit:i]})
		}
		t.parts = append(t.parts, part{key: s[i+1 : end]})
		lit = end + 1
		i = end
	}
	if lit < len(s) {
		t.parts = append(t.parts, part{literal: s[lit:]})
	}
	return t
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// escaper makes a placeholder value safe inside the rendered text.
type escaper func(string) string

// escaperFor returns the escaping that fits a Content-Type: JSON string
// escaping for JSON, HTML escaping for HTML and XML, none otherwise.
func escaperFor(contentType string) escaper {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return jsonEscape
	case mt == "text/html" || mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return html.EscapeString
	default:
		return func(s string) string { return s }
	}
}

// jsonEscape escapes s for use inside a JSON string literal.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// headerSafe removes control characters, so a value cannot split headers.
func headerSafe(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// vars are the values of one response for template rendering.
type vars struct {
	resp      Response
	requestID string
	repl      *caddy.Replacer
}

func (v *vars) lookup(key string) string {
	switch key {
	case keyMessage:
		return v.resp.Text()
	case keyStatus:
		return strconv.Itoa(v.resp.StatusCode())
	case keyType:
		return string(v.resp.Type)
	case keyRequestID:
		return v.requestID
	}
	if v.repl == nil {
		return ""
	}
	val, _ := v.repl.Get(key)
	return caddy.ToString(val)
}

// render fills the template, escaping every placeholder value with esc.
func (t template) render(v *vars, esc escaper) string {
	var sb strings.Builder
	for _, p := range t.parts {
		if p.key == "" {
			sb.WriteString(p.literal)
		} else {
			sb.WriteString(esc(v.lookup(p.key)))
		}
	}
	return sb.String()
}
