package console

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gpugate/gpugate/modules/usageplan"
)

// keyAction is a button on a stored key's page: a POST to
// keys/<id>/<Name>. When Do returns a key with a Value (a new one), the
// value is shown once, as at creation; otherwise the browser is sent back
// to the key's page (or to the list, when Leaves) with Done as the notice.
type keyAction struct {
	Name    string
	Label   string
	Done    string
	Confirm string
	Danger  bool
	Leaves  bool
	Shown   func(usageplan.KeyView) bool
	Do      func(ctx context.Context, app *usageplan.App, id string) (usageplan.KeyView, error)
}

// keyActions are the buttons of a stored key, in their order on the page.
var keyActions = []keyAction{
	{Name: "disable", Label: "Disable", Done: "Key disabled: requests with it get 403.",
		Shown: func(k usageplan.KeyView) bool { return k.Enabled },
		Do: func(ctx context.Context, app *usageplan.App, id string) (usageplan.KeyView, error) {
			return app.SetKeyEnabled(ctx, id, false)
		}},
	{Name: "enable", Label: "Enable", Done: "Key enabled.",
		Shown: func(k usageplan.KeyView) bool { return !k.Enabled },
		Do: func(ctx context.Context, app *usageplan.App, id string) (usageplan.KeyView, error) {
			return app.SetKeyEnabled(ctx, id, true)
		}},
	{Name: "rotate", Label: "Rotate", Done: "Key rotated.", Shown: stored,
		Confirm: "Rotate this key? A new value is shown once; the current value keeps working for 24 hours, then stops.",
		Do: func(ctx context.Context, app *usageplan.App, id string) (usageplan.KeyView, error) {
			return app.RotateKey(ctx, id, usageplan.Rotation{}) // the default grace; the view carries the new Value
		}},
	{Name: "delete", Label: "Delete", Done: "Key deleted.", Danger: true, Leaves: true,
		Confirm: "Delete this key? Requests with it get 403, and it cannot be restored.",
		Shown:   stored,
		Do: func(ctx context.Context, app *usageplan.App, id string) (usageplan.KeyView, error) {
			return usageplan.KeyView{}, app.DeleteKey(ctx, id)
		}},
}

// stored reports whether k was created at run time (configured keys change
// in the configuration only).
func stored(k usageplan.KeyView) bool { return k.Source == "store" }

// actionButton is an action as the key page shows it.
type actionButton struct {
	Name, Label, Confirm, Action string
	Danger                       bool
}

// actionsFor lists the buttons for k.
func actionsFor(k usageplan.KeyView) []actionButton {
	if !stored(k) {
		return nil
	}
	var out []actionButton
	for _, a := range keyActions {
		if a.Shown(k) {
			out = append(out, actionButton{Name: a.Name, Label: a.Label, Confirm: a.Confirm, Danger: a.Danger,
				Action: keyLink(k.ID) + "/" + a.Name})
		}
	}
	return out
}

// doneMessage is the notice of the action named in a ?done= query (only
// the fixed texts: nothing from the URL is shown).
func doneMessage(name string) string {
	for _, a := range keyActions {
		if a.Name == name {
			return a.Done
		}
	}
	return ""
}

// createdPage shows a key's value, the one time it is shown.
type createdPage struct {
	page
	Heading string
	Key     usageplan.KeyView
	KeyLink string
	Rotated bool
}

func (c *Console) serveCreate(w http.ResponseWriter, r *http.Request, app *usageplan.App) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		c.pages.message(w, r, app, http.StatusBadRequest, "Create a key", "The form could not be read: "+err.Error())
		return
	}
	nk := usageplan.NewKey{Name: strings.TrimSpace(r.PostForm.Get("name")),
		Description: strings.TrimSpace(r.PostForm.Get("description")), Plans: r.PostForm["plan"]}
	kv, err := app.CreateKey(r.Context(), nk)
	if err != nil {
		status, msg := usageplan.ErrorStatus(err)
		form := &createForm{Name: nk.Name, Description: nk.Description}
		for _, name := range sortedPlans(app) {
			form.Plans = append(form.Plans, planChoice{Name: name, Checked: slices.Contains(nk.Plans, name)})
		}
		pg := c.overview(r, app, form)
		pg.CreateError = "The key was not created: " + msg
		c.pages.render(w, status, "overview", pg)
		return
	}
	c.showValue(w, r, app, kv, "Key "+kv.Name+" created", false)
}

// showValue renders the page that shows kv.Value once.
func (c *Console) showValue(w http.ResponseWriter, r *http.Request, app *usageplan.App, kv usageplan.KeyView, heading string, rotated bool) {
	pg := createdPage{page: c.pages.newPage(r, app, heading), Heading: heading, Key: kv, KeyLink: keyLink(kv.ID), Rotated: rotated}
	c.pages.render(w, http.StatusOK, "created", pg)
}

func (c *Console) serveAction(w http.ResponseWriter, r *http.Request, app *usageplan.App, id, name string) {
	var action *keyAction
	for i := range keyActions {
		if keyActions[i].Name == name {
			action = &keyActions[i]
		}
	}
	if action == nil {
		c.pages.message(w, r, app, http.StatusNotFound, "Not found", "A key has no action "+name+".")
		return
	}
	kv, err := action.Do(r.Context(), app, id)
	if err != nil {
		status, msg := usageplan.ErrorStatus(err)
		c.pages.message(w, r, app, status, action.Label+" key "+id, msg)
		return
	}
	if kv.Value != "" {
		c.showValue(w, r, app, kv, action.Done, true)
		return
	}
	to := keyLink(id)
	if action.Leaves {
		to = Base
	}
	http.Redirect(w, r, to+"?done="+action.Name, http.StatusSeeOther)
}
