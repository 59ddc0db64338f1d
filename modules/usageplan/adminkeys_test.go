package usageplan

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// TestRotationGracePeriod: a rotated key works with both values during the
// grace period and only with the new one after; id, plans and last-used
// carry over.
func TestRotationGracePeriod(t *testing.T) {
	clock := testkit.NewClock(noon)
	app := newApp(t, &App{Plans: basicPlans()}, clock)
	h := newHandler(t, app, &Handler{Plans: []string{"basic"}})
	code, body := admin(t, app, http.MethodPost, "/usage-plans/keys", `{"name":"acme","plans":["basic"]}`)
	var old KeyView
	if err := json.Unmarshal([]byte(body), &old); code != http.StatusCreated || err != nil {
		t.Fatalf("create: %d %s", code, body)
	}
	if res := do(t, h, get("/", old.Value), nil); res.status != 200 {
		t.Fatalf("before rotation: %d", res.status)
	}
	code, body = admin(t, app, http.MethodPost, "/usage-plans/keys/"+old.ID+"/rotate", `{"grace":"1h"}`)
	var rotated KeyView
	if err := json.Unmarshal([]byte(body), &rotated); code != 200 || err != nil || rotated.ID != old.ID || rotated.Value == "" ||
		rotated.Value == old.Value || !rotated.PreviousValidUntil.Equal(noon.Add(time.Hour)) || !rotated.LastUsed.Equal(noon) {
		t.Fatalf("rotate: %d %s", code, body)
	}
	for _, v := range []string{old.Value, rotated.Value} {
		if res := do(t, h, get("/", v), nil); res.status != 200 {
			t.Fatalf("during the grace period: %d", res.status)
		}
	}
	clock.Advance(time.Hour)
	if res := do(t, h, get("/", old.Value), nil); res.status != http.StatusForbidden {
		t.Fatalf("the old value after the grace period: %d", res.status)
	}
	if res := do(t, h, get("/", rotated.Value), nil); res.status != 200 {
		t.Fatalf("the new value after the grace period: %d", res.status)
	}
	// Both values counted against one quota (5 per day): 4 admitted so far.
	if res := do(t, h, get("/", rotated.Value), nil); res.status != 200 || !strings.Contains(res.header.Get("Ratelimit"), `"quota";r=0`) {
		t.Fatalf("one quota across the rotation: %d %q", res.status, res.header.Get("Ratelimit"))
	}
	if code, body := admin(t, app, http.MethodGet, "/usage-plans/keys/"+old.ID, ""); code != 200 || strings.Contains(body, rotated.Value) || strings.Contains(body, old.Value) {
		t.Fatalf("get after rotation shows a value: %d %s", code, body)
	}
}

func TestPatchKey(t *testing.T) {
	clock := testkit.NewClock(noon)
	app := newApp(t, &App{Plans: basicPlans()}, clock)
	basic := newHandler(t, app, &Handler{Plans: []string{"basic"}})
	pro := newHandler(t, app, &Handler{Plans: []string{"pro"}})
	_, body := admin(t, app, http.MethodPost, "/usage-plans/keys", `{"name":"acme","plans":["basic"],"expires":"30d"}`)
	var k KeyView
	_ = json.Unmarshal([]byte(body), &k)
	if !k.Expires.Equal(noon.Add(30 * 24 * time.Hour)) {
		t.Fatalf("expires 30d: %s", body)
	}
	if res := do(t, pro, get("/", k.Value), nil); res.status != http.StatusForbidden {
		t.Fatalf("pro before the change: %d", res.status)
	}
	code, body := admin(t, app, http.MethodPatch, "/usage-plans/keys/"+k.ID, `{"plans":["pro"],"expires":"never","name":"acme-2"}`)
	if code != 200 || !strings.Contains(body, `"pro"`) || strings.Contains(body, `"expires"`) || !strings.Contains(body, "acme-2") {
		t.Fatalf("patch: %d %s", code, body)
	}
	if res := do(t, pro, get("/", k.Value), nil); res.status != 200 {
		t.Fatalf("pro after the change: %d", res.status)
	}
	if res := do(t, basic, get("/", k.Value), nil); res.status != http.StatusForbidden {
		t.Fatalf("basic after the change: %d", res.status)
	}
	for _, bad := range []string{`{"plans":["nope"]}`, `{"expires":"yesterday"}`, `{"expires":"2020-01-01"}`, `{"bogus":1}`} {
		if code, body := admin(t, app, http.MethodPut, "/usage-plans/keys/"+k.ID, bad); code != http.StatusBadRequest {
			t.Fatalf("PUT %s: %d %s", bad, code, body)
		}
	}
	if code, _ := admin(t, app, http.MethodPatch, "/usage-plans/keys/nope", `{"plans":["pro"]}`); code != http.StatusNotFound {
		t.Fatalf("patch of a missing key: %d", code)
	}
}

func TestImportMapsUsagePlanIDs(t *testing.T) {
	app := newApp(t, &App{Plans: basicPlans()}, testkit.NewClock(noon))
	csv := "Name,Key,Description,Enabled,UsagePlanIds\n" +
		"a,AAAAAAAAAAAAAAAAAAAAAAAA,,true,k3x9pz\n" +
		"b,BBBBBBBBBBBBBBBBBBBBBBBB,,true,\"k3x9pz,q7w2er\"\n"
	res, err := app.ImportCSV(t.Context(), strings.NewReader(csv), "", map[string]string{"k3x9pz": "basic", "q7w2er": "pro"})
	if err != nil || len(res.Imported) != 2 || strings.Join(res.Imported[1].Plans, " ") != "basic pro" {
		t.Fatalf("import: %+v %v", res, err)
	}
	if code, body := admin(t, app, http.MethodPost, "/usage-plans/import?plan_map=broken", csv); code != http.StatusBadRequest || !strings.Contains(body, "plan_map") {
		t.Fatalf("a bad plan_map: %d %s", code, body)
	}
}
