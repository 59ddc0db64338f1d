package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"

	"github.com/gpugate/gpugate/modules/health"
	"github.com/gpugate/gpugate/modules/usageplan"
)

// web holds the templates, the style sheet and the script. The style and
// the script are inlined into every page: the admin endpoint refuses a
// browser's no-cors requests (a <link> style sheet, a <script src>, an
// <img>), so a page there cannot load anything besides itself.
//
//go:embed web
var web embed.FS

// pageNames are the templates with a "content" block, each rendered into
// the layout.
var pageNames = []string{"overview", "key", "created", "message"}

// pages renders the console's pages.
type pages struct {
	byName map[string]*template.Template
	css    template.CSS
	js     template.JS
	// csp is the Content-Security-Policy of every page: nothing but the
	// inlined style and script (by hash), forms to the console itself,
	// never in a frame.
	csp string
}

func newPages() (*pages, error) {
	css, err := web.ReadFile("web/console.css")
	if err != nil {
		return nil, err
	}
	js, err := web.ReadFile("web/console.js")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}, css: template.CSS(css), js: template.JS(js)}
	p.csp = "default-src 'none'; script-src '" + hashSource(js) + "'; style-src '" + hashSource(css) +
		"'; img-src data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	for _, name := range pageNames {
		t, err := template.New(name).ParseFS(web, "web/layout.html", "web/chart.html", "web/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: page %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// hashSource is a CSP source expression matching exactly content.
func hashSource(content []byte) string {
	sum := sha256.Sum256(content)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// page is what the layout shows on every page.
type page struct {
	Title   string
	Base    string
	Host    string
	Healthy bool
	Health  []health.Check
	Flash   string
	CSS     template.CSS
	JS      template.JS
}

// newPage fills the layout's fields; app nil is a gateway without usage
// plans.
func (p *pages) newPage(r *http.Request, app *usageplan.App, title string) page {
	pg := page{Title: title, Base: Base, Host: r.Host, CSS: p.css, JS: p.js}
	if app != nil {
		pg.Health = app.CheckHealth(r.Context())
		pg.Healthy = len(pg.Health) > 0
		for _, c := range pg.Health {
			pg.Healthy = pg.Healthy && c.OK
		}
	}
	return pg
}

// render writes the page name with data and the console's headers.
func (p *pages) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.byName[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		http.Error(w, "console: rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages show live state, and one shows a key's value: never stored.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", p.csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// Links and forms within the console carry the page as Referer (the
	// admin endpoint's Origin check reads it); no other site gets it.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// messagePage is a page with one message (an error, a refusal).
type messagePage struct {
	page
	Heading string
	Message string
}

// message renders a message page with status.
func (p *pages) message(w http.ResponseWriter, r *http.Request, app *usageplan.App, status int, heading, msg string) {
	pg := messagePage{page: p.newPage(r, app, heading), Heading: heading, Message: msg}
	p.render(w, status, "message", pg)
}
