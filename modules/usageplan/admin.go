package usageplan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// AdminBase is the path prefix of the usage-plan admin endpoints.
const AdminBase = "/usage-plans/"

// maxAdminBody bounds admin request bodies (a CSV import of many keys).
const maxAdminBody = 8 << 20

// AdminAPI serves the usage-plan endpoints on Caddy's admin endpoint:
//
//	GET    /usage-plans/plans
//	GET    /usage-plans/keys
//	POST   /usage-plans/keys                  {"name","plans",["description","enabled","value"]}
//	GET    /usage-plans/keys/<id>
//	DELETE /usage-plans/keys/<id>
//	POST   /usage-plans/keys/<id>/enable
//	POST   /usage-plans/keys/<id>/disable
//	POST   /usage-plans/keys/<id>/quota       {"plan", "reset":true | "extend":<n>}
//	GET    /usage-plans/usage?plan=<p>[&key=<id>]&start=YYYY-MM-DD&end=YYYY-MM-DD
//	POST   /usage-plans/import[?plan=<p>]     (text/csv, API Gateway export)
//
// and the key lifecycle routes of adminkeys.go (PATCH, rotate).
type AdminAPI struct {
	ctx caddy.Context
}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.gpugate_usage_plans", New: func() caddy.Module { return new(AdminAPI) }}
}

// Provision keeps the context to find the usage_plans app per request.
func (a *AdminAPI) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	return nil
}

// Routes implements caddy.AdminRouter.
func (a *AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: AdminBase, Handler: caddy.AdminHandlerFunc(a.serve)}}
}

func (a *AdminAPI) app() (*App, error) {
	app, err := a.ctx.AppIfConfigured(AppName)
	if err != nil {
		return nil, caddy.APIError{HTTPStatus: http.StatusNotFound,
			Err: errors.New("no usage plans are configured; add a usage_plans global option")}
	}
	return app.(*App), nil
}

func (a *AdminAPI) serve(w http.ResponseWriter, r *http.Request) error {
	app, err := a.app()
	if err != nil {
		return err
	}
	return serveAdmin(w, r, app)
}

// serveAdmin routes one admin request to app.
func serveAdmin(w http.ResponseWriter, r *http.Request, app *App) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, AdminBase), "/"), "/")
	ctx := r.Context()
	route := r.Method + " " + parts[0]
	switch {
	case route == "GET plans" && len(parts) == 1:
		return writeJSON(w, http.StatusOK, app.planViews())
	case route == "GET keys" && len(parts) == 1:
		keys, err := app.ListKeys(ctx)
		return respond(w, http.StatusOK, keys, err)
	case route == "POST keys" && len(parts) == 1:
		var nk NewKey
		if err := decodeJSON(r, &nk); err != nil {
			return err
		}
		kv, err := app.CreateKey(ctx, nk)
		return respond(w, http.StatusCreated, kv, err)
	case parts[0] == "keys" && len(parts) == 2 && r.Method == http.MethodGet:
		kv, err := app.Key(ctx, parts[1])
		return respond(w, http.StatusOK, kv, err)
	case parts[0] == "keys" && len(parts) == 2 && r.Method == http.MethodDelete:
		err := app.DeleteKey(ctx, parts[1])
		return respond(w, http.StatusOK, map[string]string{"deleted": parts[1]}, err)
	case parts[0] == "keys" && len(parts) == 3 && r.Method == http.MethodPost && (parts[2] == "enable" || parts[2] == "disable"):
		kv, err := app.SetKeyEnabled(ctx, parts[1], parts[2] == "enable")
		return respond(w, http.StatusOK, kv, err)
	case parts[0] == "keys" && len(parts) == 3 && r.Method == http.MethodPost && parts[2] == "quota":
		var u QuotaUpdate
		if err := decodeJSON(r, &u); err != nil {
			return err
		}
		rem, err := app.UpdateQuota(ctx, parts[1], u)
		return respond(w, http.StatusOK, map[string]any{"id": parts[1], "remaining": rem}, err)
	case route == "GET usage" && len(parts) == 1:
		return serveUsage(w, r, app)
	case route == "POST import" && len(parts) == 1:
		planMap, err := parsePlanMap(r.URL.Query()["plan_map"])
		if err != nil {
			return respond(w, 0, nil, err)
		}
		res, err := app.ImportCSV(ctx, r.Body, r.URL.Query().Get("plan"), planMap)
		return respond(w, http.StatusOK, res, err)
	}
	if handled, err := serveKeyLifecycle(w, r, app, parts); handled {
		return err
	}
	return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("no such usage-plans endpoint: %s %s", r.Method, r.URL.Path)}
}

func serveUsage(w http.ResponseWriter, r *http.Request, app *App) error {
	q := r.URL.Query()
	today := store.UTCDay(app.now())
	from, err := parseDate(q.Get("start"), today.AddDate(0, 0, -6))
	if err != nil {
		return err
	}
	to, err := parseDate(q.Get("end"), today)
	if err != nil {
		return err
	}
	u, err := app.UsageOf(r.Context(), q.Get("plan"), q.Get("key"), from, to)
	return respond(w, http.StatusOK, u, err)
}

func parseDate(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("date %q: write YYYY-MM-DD", s)}
	}
	return t, nil
}

// PlanView is a plan as the admin API lists it.
type PlanView struct {
	// Name is the plan's name; the limits follow.
	Name string `json:"name"`
	Plan
}

func (a *App) planViews() []PlanView {
	out := []PlanView{}
	for _, name := range a.planNames() {
		out = append(out, PlanView{Name: name, Plan: *a.Plans[name]})
	}
	return out
}

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("invalid JSON body: %v", err)}
	}
	return nil
}

// respond writes v, or maps err onto an admin API error status.
func respond(w http.ResponseWriter, status int, v any, err error) error {
	if err == nil {
		return writeJSON(w, status, v)
	}
	code, msg := ErrorStatus(err)
	if code == http.StatusServiceUnavailable {
		return caddy.APIError{HTTPStatus: code, Err: err}
	}
	return caddy.APIError{HTTPStatus: code, Err: errors.New(msg)}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

var (
	_ caddy.AdminRouter = (*AdminAPI)(nil)
	_ caddy.Provisioner = (*AdminAPI)(nil)
)
