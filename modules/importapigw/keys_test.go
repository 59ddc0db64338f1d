package importapigw

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/usageplan"
)

func loadKeyInput(t *testing.T) KeyInput {
	t.Helper()
	in := KeyInput{PlanKeys: map[string]UsagePlanKeys{}}
	dir := filepath.Join("testdata", "oldchain")
	if err := readJSON(filepath.Join(dir, "usage-plans.json"), &in.Plans); err != nil {
		t.Fatal(err)
	}
	if err := readJSON(filepath.Join(dir, "api-keys.json"), &in.Keys); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1b2c3", "d4e5f6", "g7h8i9"} {
		var pk UsagePlanKeys
		if err := readJSON(filepath.Join(dir, "usage-plan-keys-"+id+".json"), &pk); err != nil {
			t.Fatal(err)
		}
		in.PlanKeys[id] = pk
	}
	return in
}

// TestPlanKeys: each key gets the gpugate names of the plans it is in, its
// value, enabled flag and a description naming the AWS key; a key in no
// plan is reported, not imported.
func TestPlanKeys(t *testing.T) {
	t.Parallel()
	keys, ns, err := PlanKeys(loadKeyInput(t))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]usageplan.NewKey{}
	for _, k := range keys {
		got[k.Name] = k
	}
	if len(keys) != 4 {
		t.Fatalf("want 4 keys, got %+v", keys)
	}
	studio := got["studio-frontend"]
	if strings.Join(studio.Plans, ",") != "GPU-Standard,Partner-Monthly" || studio.Value != "Vg3pA7sXq2LmN9tRbW5cYe1Kd8Fh4JzQ0uIoP6aS" ||
		!*studio.Enabled || studio.Description != "Browser app on studio.example.com (API Gateway key 8bklk8bl1k)" {
		t.Errorf("studio-frontend: %+v", studio)
	}
	if k := got["old-intern"]; *k.Enabled || strings.Join(k.Plans, ",") != "GPU-Standard" {
		t.Errorf("old-intern must stay disabled: %+v", k)
	}
	if k := got["partner acme"]; strings.Join(k.Plans, ",") != "Partner-Monthly" || k.Description != "imported from API Gateway key 3kd9s0qlz2" {
		t.Errorf("partner acme: %+v", k)
	}
	if _, ok := got["orphan"]; ok {
		t.Error("a key in no plan was imported")
	}
	var text []string
	for _, n := range ns {
		text = append(text, n.String())
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{`API key 0rphan0000 "orphan": usage plans: in no usage plan`, `API key 3kd9s0qlz2 "partner acme": customerId`, `API key 3kd9s0qlz2 "partner acme": tags`} {
		if !strings.Contains(all, want) {
			t.Errorf("notes lack %q:\n%s", want, all)
		}
	}
	for _, k := range loadKeyInput(t).Keys.Items {
		if strings.Contains(all, k.Value) {
			t.Errorf("a note shows the value of key %s", k.ID)
		}
	}
}

// TestPlanKeysErrors: keys without values and plan-keys files for unknown
// plans are refused with what to run.
func TestPlanKeysErrors(t *testing.T) {
	t.Parallel()
	in := loadKeyInput(t)
	in.Keys.Items[0].Value = ""
	if _, _, err := PlanKeys(in); err == nil || !strings.Contains(err.Error(), "--include-values") {
		t.Errorf("no value: %v", err)
	}
	in = loadKeyInput(t)
	in.PlanKeys["zzz999"] = UsagePlanKeys{}
	if _, _, err := PlanKeys(in); err == nil || !strings.Contains(err.Error(), "--plan-keys zzz999") {
		t.Errorf("unknown plan: %v", err)
	}
}

// fakeAdmin is an admin endpoint with plans and a set of stored values.
type fakeAdmin struct {
	plans  []string
	values map[string]bool
	posts  int
}

func (f *fakeAdmin) do(method, path string, body []byte) (int, []byte, error) {
	switch {
	case method == http.MethodGet && path == "plans":
		var views []usageplan.PlanView
		for _, p := range f.plans {
			views = append(views, usageplan.PlanView{Name: p})
		}
		b, _ := json.Marshal(views)
		return http.StatusOK, b, nil
	case method == http.MethodPost && path == "keys":
		f.posts++
		var nk usageplan.NewKey
		if err := json.Unmarshal(body, &nk); err != nil {
			return http.StatusBadRequest, []byte(`{"error":"bad json"}`), nil
		}
		if f.values[nk.Value] {
			return http.StatusConflict, []byte(`{"error":"a key with this value already exists"}`), nil
		}
		if nk.Name == "bad" {
			return http.StatusBadRequest, []byte(`{"error":"name is required"}`), nil
		}
		f.values[nk.Value] = true
		b, _ := json.Marshal(usageplan.KeyView{ID: "id" + nk.Name, Name: nk.Name, Plans: nk.Plans})
		return http.StatusCreated, b, nil
	}
	return http.StatusNotFound, []byte(`{"error":"no such endpoint"}`), nil
}

// TestImportKeys: keys are created with their values; a value already in
// the store is "exists" (a second run changes nothing); a failed key is
// reported with the admin API's message; nothing is created when a plan is
// missing from the gateway.
func TestImportKeys(t *testing.T) {
	t.Parallel()
	keys, _, err := PlanKeys(loadKeyInput(t))
	if err != nil {
		t.Fatal(err)
	}
	admin := &fakeAdmin{plans: []string{"GPU-Standard", "trial", "Partner-Monthly"}, values: map[string]bool{}}
	out, err := ImportKeys(admin.do, keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Result != "imported" || o.ID != "id"+o.Name {
			t.Errorf("first run: %+v", o)
		}
	}
	if len(admin.values) != 4 || !admin.values["Tr1aLk3yB0bZxCvBnMaSdFgHjKlQwErTyUiOp123"] {
		t.Errorf("stored values: %d", len(admin.values))
	}
	out, err = ImportKeys(admin.do, keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Result != "exists" {
			t.Errorf("second run: %+v", o)
		}
	}

	bad := []usageplan.NewKey{{Name: "bad", Plans: []string{"trial"}, Value: "x"}}
	out, err = ImportKeys(admin.do, bad)
	if err != nil || len(out) != 1 || out[0].Result != "failed" || out[0].Error != "400: name is required" {
		t.Errorf("failed key: %+v %v", out, err)
	}

	short := &fakeAdmin{plans: []string{"trial"}, values: map[string]bool{}}
	if _, err := ImportKeys(short.do, keys); err == nil || !strings.Contains(err.Error(), `no plan "GPU-Standard"`) || short.posts != 0 {
		t.Errorf("missing plan: %v (posts %d)", err, short.posts)
	}
}
