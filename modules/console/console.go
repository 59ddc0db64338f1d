package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/usageplan"
)

func init() {
	caddy.RegisterModule(Console{})
}

// Base is the path of the console on the admin endpoint.
const Base = "/gpugate/console/"

// maxFormBody bounds the body of a console form.
const maxFormBody = 64 << 10

// Console serves the operator console on Caddy's admin endpoint:
//
//	GET  /gpugate/console/                   plans, keys, store health, the create form
//	POST /gpugate/console/keys               create a key (the value is shown once)
//	GET  /gpugate/console/keys/<id>          a key: 30 days of use, throttle and concurrency now
//	POST /gpugate/console/keys/<id>/<action> enable, disable, delete (see keyActions)
//
// Every request passes the admin endpoint's own checks first (Host and
// Origin, see README); the console adds a cross-origin check of its own.
type Console struct {
	ctx    caddy.Context
	logger *zap.Logger
	pages  *pages
	guard  *guard
}

// CaddyModule returns the Caddy module information.
func (Console) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.gpugate_console", New: func() caddy.Module { return new(Console) }}
}

// Provision parses the embedded pages and keeps the context to find the
// usage_plans app per request.
func (c *Console) Provision(ctx caddy.Context) error {
	c.ctx = ctx
	c.logger = ctx.Logger()
	p, err := newPages()
	if err != nil {
		return err
	}
	c.pages = p
	c.guard = newGuard()
	return nil
}

// Routes implements caddy.AdminRouter.
func (c *Console) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: Base, Handler: caddy.AdminHandlerFunc(c.serve)}}
}

func (c *Console) serve(w http.ResponseWriter, r *http.Request) error {
	if !c.allowed(w, r) {
		return nil
	}
	app, err := c.ctx.AppIfConfigured(usageplan.AppName)
	if errors.Is(err, caddy.ErrNotConfigured) {
		c.pages.message(w, r, nil, http.StatusNotFound, "No usage plans",
			"This gateway's configuration has no usage_plans global option, so there are no plans or keys to show.")
		return nil
	}
	if err != nil {
		c.pages.message(w, r, nil, http.StatusServiceUnavailable, "Usage plans unavailable", err.Error())
		return nil
	}
	c.handle(w, r, app.(*usageplan.App))
	return nil
}

// allowed applies the console's own cross-origin check and answers 403
// when it fails.
func (c *Console) allowed(w http.ResponseWriter, r *http.Request) bool {
	if err := c.guard.check(r); err != nil {
		c.logger.Warn("console: refused a cross-origin request", zap.String("method", r.Method),
			zap.String("path", r.URL.Path), zap.String("origin", r.Header.Get("Origin")),
			zap.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")))
		c.pages.message(w, r, nil, http.StatusForbidden, "Cross-origin request refused",
			"The console answers only its own pages: open it by its address (see the console's README).")
		return false
	}
	return true
}

// handle routes one console request for app.
func (c *Console) handle(w http.ResponseWriter, r *http.Request, app *usageplan.App) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, Base), "/"), "/")
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case len(parts) == 1 && parts[0] == "" && read:
		c.serveOverview(w, r, app)
	case len(parts) == 1 && parts[0] == "keys" && r.Method == http.MethodPost:
		c.serveCreate(w, r, app)
	case len(parts) == 2 && parts[0] == "keys" && read:
		c.serveKey(w, r, app, parts[1])
	case len(parts) == 3 && parts[0] == "keys" && r.Method == http.MethodPost:
		c.serveAction(w, r, app, parts[1], parts[2])
	case (len(parts) == 1 && (parts[0] == "" || parts[0] == "keys")) || (parts[0] == "keys" && len(parts) <= 3):
		w.Header().Set("Allow", allowHeader(parts))
		c.pages.message(w, r, app, http.StatusMethodNotAllowed, "Method not allowed", r.Method+" is not served here.")
	default:
		c.pages.message(w, r, app, http.StatusNotFound, "Not found", "The console has no page at "+r.URL.Path+".")
	}
}

// allowHeader is the Allow header of a console path.
func allowHeader(parts []string) string {
	if len(parts) == 2 {
		return "GET, HEAD"
	}
	if len(parts) == 3 || parts[0] == "keys" {
		return "POST"
	}
	return "GET, HEAD"
}

var (
	_ caddy.AdminRouter = (*Console)(nil)
	_ caddy.Provisioner = (*Console)(nil)
)
