package usageplan

import (
	"net/http"
)

// Key lifecycle routes of the admin API, beside the ones in admin.go:
//
//	PATCH  /usage-plans/keys/<id>          {"plans","name","description","enabled","expires"} (any of them)
//	PUT    /usage-plans/keys/<id>          the same (every field given is applied)
//	POST   /usage-plans/keys/<id>/rotate   {["grace":"24h"],["value"]} -> the key with its new "value" once
//
// serveKeyLifecycle answers them and reports whether r was one.
func serveKeyLifecycle(w http.ResponseWriter, r *http.Request, app *App, parts []string) (bool, error) {
	if len(parts) < 2 || parts[0] != "keys" {
		return false, nil
	}
	ctx := r.Context()
	switch {
	case len(parts) == 2 && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		var c KeyChange
		if err := decodeJSON(r, &c); err != nil {
			return true, err
		}
		kv, err := app.UpdateKey(ctx, parts[1], c)
		return true, respond(w, http.StatusOK, kv, err)
	case len(parts) == 3 && parts[2] == "rotate" && r.Method == http.MethodPost:
		var rot Rotation
		if err := decodeJSON(r, &rot); err != nil {
			return true, err
		}
		kv, err := app.RotateKey(ctx, parts[1], rot)
		return true, respond(w, http.StatusOK, kv, err)
	}
	return false, nil
}
