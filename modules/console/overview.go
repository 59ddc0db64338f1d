package console

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/gpugate/gpugate/modules/usageplan"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// overviewPage lists the plans and keys, with the create form.
type overviewPage struct {
	page
	Plans       []planRow
	Keys        []keyRow
	KeysError   string
	UsageError  string
	CreateError string
	Form        createForm
}

// keyRow is one key in the list.
type keyRow struct {
	usageplan.KeyView
	Link    string
	Created string
	Today   []planUse
}

// planUse is a key's use of one plan today.
type planUse struct {
	Plan string
	Used int64
}

// createForm is the create form's content (kept when it is sent back with
// an error).
type createForm struct {
	Name        string
	Description string
	Plans       []planChoice
}

type planChoice struct {
	Name    string
	Checked bool
}

func (c *Console) serveOverview(w http.ResponseWriter, r *http.Request, app *usageplan.App) {
	pg := c.overview(r, app, nil)
	pg.Flash = doneMessage(r.URL.Query().Get("done"))
	c.pages.render(w, http.StatusOK, "overview", pg)
}

// overview builds the overview; form is the create form to show again
// (nil: an empty one).
func (c *Console) overview(r *http.Request, app *usageplan.App, form *createForm) overviewPage {
	ctx := r.Context()
	pg := overviewPage{page: c.pages.newPage(r, app, "Plans and keys")}
	keys, err := app.ListKeys(ctx)
	if err != nil {
		_, pg.KeysError = usageplan.ErrorStatus(err)
	}
	plans := sortedPlans(app)
	today := store.UTCDay(app.Now())
	used := map[string]map[string]int64{} // plan -> key id -> units
	for _, name := range plans {
		row := describePlan(name, app.Plans[name])
		for _, k := range keys {
			if slices.Contains(k.Plans, name) {
				row.Keys++
			}
		}
		pg.Plans = append(pg.Plans, row)
		if row.Keys == 0 {
			continue
		}
		u, err := app.UsageOf(ctx, name, "", today, today)
		if err != nil {
			_, pg.UsageError = usageplan.ErrorStatus(err)
			continue
		}
		used[name] = map[string]int64{}
		for id, pairs := range u.Values {
			if len(pairs) > 0 {
				used[name][id] = pairs[0][0]
			}
		}
	}
	for _, k := range keys {
		row := keyRow{KeyView: k, Link: keyLink(k.ID), Created: formatTime(k.Created)}
		for _, p := range k.Plans {
			if u, ok := used[p]; ok {
				row.Today = append(row.Today, planUse{Plan: p, Used: u[k.ID]})
			}
		}
		pg.Keys = append(pg.Keys, row)
	}
	if form == nil {
		form = &createForm{}
		for _, name := range plans {
			form.Plans = append(form.Plans, planChoice{Name: name, Checked: len(plans) == 1})
		}
	}
	pg.Form = *form
	return pg
}

// keyLink is the console page of key id.
func keyLink(id string) string { return Base + "keys/" + url.PathEscape(id) }
