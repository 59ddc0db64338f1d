package importapigw

import (
	"bytes"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// cfWriter builds Caddyfile text with tab indentation.
type cfWriter struct {
	buf   bytes.Buffer
	depth int
}

// line writes one line of tokens, each already quoted where needed.
func (w *cfWriter) line(tokens ...string) {
	w.buf.WriteString(strings.Repeat("\t", w.depth))
	w.buf.WriteString(strings.Join(tokens, " "))
	w.buf.WriteByte('\n')
}

// open writes "<tokens> {" and indents.
func (w *cfWriter) open(tokens ...string) {
	w.line(append(tokens, "{")...)
	w.depth++
}

// close writes "}".
func (w *cfWriter) close() {
	w.depth--
	w.line("}")
}

// comment writes "# text" lines.
func (w *cfWriter) comment(text string) {
	for _, l := range strings.Split(text, "\n") {
		w.line(strings.TrimRight("# "+l, " "))
	}
}

// blank writes an empty line.
func (w *cfWriter) blank() { w.buf.WriteByte('\n') }

// bytes returns the text as `caddy fmt` would print it.
func (w *cfWriter) bytes() []byte {
	out := caddyfile.Format(w.buf.Bytes())
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out
}

// quote makes s one Caddyfile token: as it is when that is safe, else in
// backticks (nothing is escaped inside them), else in double quotes.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n\"`\\") && !strings.HasPrefix(s, "#") &&
		!strings.HasPrefix(s, "<<") && s != "{" && s != "}" && !strings.HasPrefix(s, "@") {
		return s
	}
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
