package usageplan

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"

	"github.com/caddyserver/caddy/v2"
)

// admin sends one request to the admin routes of app and returns the
// status and body (errors as Caddy's admin endpoint reports them).
func admin(t *testing.T, app *App, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	w := httptest.NewRecorder()
	err := serveAdmin(w, r, app)
	var apiErr caddy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatus, apiErr.Err.Error()
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return w.Code, w.Body.String()
}

func TestAdminKeyLifecycle(t *testing.T) {
	t.Setenv("TEST_STATIC_KEY", "static-key-value-0123456789")
	clock := testkit.NewClock(noon)
	app := newApp(t, &App{Plans: basicPlans(), Keys: []StaticKey{{Name: "partner", Value: "{env.TEST_STATIC_KEY}", Plans: []string{"pro"}}}}, clock)
	h := newHandler(t, app, &Handler{Plans: []string{"basic"}})

	code, body := admin(t, app, http.MethodPost, "/usage-plans/keys", `{"name":"acme","plans":["basic"]}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	var created KeyView
	_ = json.Unmarshal([]byte(body), &created)
	if !strings.HasPrefix(created.Value, KeyPrefix) || len(created.Value) != len(KeyPrefix)+keyLength || len(created.ID) != idLength || !created.Enabled {
		t.Fatalf("created key: %+v", created)
	}
	if res := do(t, h, get("/", created.Value), nil); res.status != http.StatusOK {
		t.Fatalf("new key: %d", res.status)
	}

	code, body = admin(t, app, http.MethodGet, "/usage-plans/keys", "")
	if code != http.StatusOK || strings.Contains(body, created.Value) || strings.Contains(body, HashKey(created.Value)) ||
		strings.Contains(body, "static-key-value") || !strings.Contains(body, `"static-partner"`) || !strings.Contains(body, created.ID) {
		t.Fatalf("list must show both keys and never a value or hash: %d %s", code, body)
	}

	if code, _ := admin(t, app, http.MethodPost, "/usage-plans/keys/"+created.ID+"/disable", ""); code != http.StatusOK {
		t.Fatalf("disable: %d", code)
	}
	if res := do(t, h, get("/", created.Value), nil); res.status != http.StatusForbidden {
		t.Fatalf("disabled key: %d", res.status)
	}
	if code, _ := admin(t, app, http.MethodPost, "/usage-plans/keys/"+created.ID+"/enable", ""); code != http.StatusOK {
		t.Fatalf("enable: %d", code)
	}
	if res := do(t, h, get("/", created.Value), nil); res.status != http.StatusOK {
		t.Fatalf("re-enabled key: %d", res.status)
	}

	if code, body := admin(t, app, http.MethodPost, "/usage-plans/keys/static-partner/disable", ""); code != http.StatusConflict || !strings.Contains(body, "declared in the configuration") {
		t.Fatalf("disable a configured key: %d %s", code, body)
	}
	if code, _ := admin(t, app, http.MethodDelete, "/usage-plans/keys/"+created.ID, ""); code != http.StatusOK {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := admin(t, app, http.MethodGet, "/usage-plans/keys/"+created.ID, ""); code != http.StatusNotFound {
		t.Fatalf("get deleted: %d", code)
	}
	if res := do(t, h, get("/", created.Value), nil); res.status != http.StatusForbidden {
		t.Fatalf("deleted key: %d", res.status)
	}
}

func TestAdminCreateErrors(t *testing.T) {
	app := newApp(t, &App{Plans: basicPlans()}, testkit.NewClock(noon))
	for body, want := range map[string]string{
		`{"name":"x","plans":["gold"]}`:               `unknown plan "gold"`,
		`{"name":"","plans":["basic"]}`:               "name is required",
		`{"name":"x"}`:                                "name at least one plan",
		`{"name":"x","plans":["basic"],"value":"ab"}`: "at least 20 characters",
		`{"name":"x","plan":"basic"}`:                 "invalid JSON body",
	} {
		code, got := admin(t, app, http.MethodPost, "/usage-plans/keys", body)
		if code != http.StatusBadRequest || !strings.Contains(got, want) {
			t.Errorf("%s: %d %q, want 400 with %q", body, code, got, want)
		}
	}
	value := `{"name":"x","plans":["basic"],"value":"imported-key-0123456789"}`
	admin(t, app, http.MethodPost, "/usage-plans/keys", value)
	if code, _ := admin(t, app, http.MethodPost, "/usage-plans/keys", value); code != http.StatusConflict {
		t.Errorf("same value twice: %d, want 409", code)
	}
	if code, _ := admin(t, app, http.MethodGet, "/usage-plans/nothing", ""); code != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d", code)
	}
}

func TestAdminUsageAndQuotaReset(t *testing.T) {
	f := newFixture(t, basicPlans())
	h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}})
	f.clock.Set(noon.AddDate(0, 0, -1))
	do(t, h, get("/", f.key), nil)
	f.clock.Set(noon)
	for range 3 {
		do(t, h, get("/", f.key), nil)
	}
	code, body := admin(t, f.app, http.MethodGet, "/usage-plans/usage?plan=basic&key="+f.keyID+"&start=2026-11-20&end=2026-11-22", "")
	if code != http.StatusOK {
		t.Fatalf("usage: %d %s", code, body)
	}
	var u Usage
	if err := json.Unmarshal([]byte(body), &u); err != nil {
		t.Fatal(err)
	}
	want := [][2]int64{{0, 5}, {1, 4}, {3, 2}}
	if u.UsagePlanID != "basic" || u.StartDate != "2026-11-20" || u.EndDate != "2026-11-22" || len(u.Values[f.keyID]) != 3 {
		t.Fatalf("usage: %s", body)
	}
	for i, w := range want {
		if u.Values[f.keyID][i] != w {
			t.Fatalf("usage day %d = %v, want %v (%s)", i, u.Values[f.keyID][i], w, body)
		}
	}
	for range 2 { // the rest of the quota, at the throttle's pace
		f.clock.Advance(time.Second)
		if res := do(t, h, get("/", f.key), nil); res.status != http.StatusOK {
			t.Fatalf("within quota: %d", res.status)
		}
	}
	f.clock.Advance(time.Second)
	if res := do(t, h, get("/", f.key), nil); res.status != http.StatusTooManyRequests || !strings.Contains(res.body, "Limit Exceeded") {
		t.Fatalf("quota used up: %d %s", res.status, res.body)
	}
	code, body = admin(t, f.app, http.MethodPost, "/usage-plans/keys/"+f.keyID+"/quota", `{"reset":true}`)
	if code != http.StatusOK || !strings.Contains(body, `"remaining": 5`) {
		t.Fatalf("reset: %d %s", code, body)
	}
	if res := do(t, h, get("/", f.key), nil); res.status != http.StatusOK {
		t.Fatalf("after reset: %d", res.status)
	}
	code, body = admin(t, f.app, http.MethodPost, "/usage-plans/keys/"+f.keyID+"/quota", `{"extend":10}`)
	if code != http.StatusOK || !strings.Contains(body, `"remaining": 14`) {
		t.Fatalf("extend: %d %s", code, body)
	}
	if code, _ := admin(t, f.app, http.MethodPost, "/usage-plans/keys/"+f.keyID+"/quota", `{"plan":"pro","reset":true}`); code != http.StatusBadRequest {
		t.Fatalf("plan the key is not in: %d", code)
	}
	if code, _ := admin(t, f.app, http.MethodGet, "/usage-plans/usage?plan=basic&start=22-11-2026", ""); code != http.StatusBadRequest {
		t.Fatalf("bad date: %d", code)
	}
}

func TestAdminImportCSV(t *testing.T) {
	app := newApp(t, &App{Plans: basicPlans()}, testkit.NewClock(noon))
	h := newHandler(t, app, &Handler{Plans: []string{"basic", "pro"}})
	csv := "Name,Key,Description,Enabled,UsagePlanIds\n" +
		"alpha,alpha-key-0123456789abcdef,first,true,basic\n" +
		"beta,beta-key-0123456789abcdef,,false,\"basic,pro\"\n"
	code, body := admin(t, app, http.MethodPost, "/usage-plans/import", csv)
	if code != http.StatusOK {
		t.Fatalf("import: %d %s", code, body)
	}
	var res ImportResult
	_ = json.Unmarshal([]byte(body), &res)
	if len(res.Imported) != 2 || len(res.Skipped) != 0 || res.Imported[1].Enabled || len(res.Imported[1].Plans) != 2 {
		t.Fatalf("import result: %s", body)
	}
	if strings.Contains(body, "alpha-key") {
		t.Fatalf("the import answer must not echo key values: %s", body)
	}
	if r := do(t, h, get("/", "alpha-key-0123456789abcdef"), nil); r.status != http.StatusOK {
		t.Fatalf("imported key: %d", r.status)
	}
	if r := do(t, h, get("/", "beta-key-0123456789abcdef"), nil); r.status != http.StatusForbidden {
		t.Fatalf("imported disabled key: %d", r.status)
	}
	code, body = admin(t, app, http.MethodPost, "/usage-plans/import", csv)
	if code != http.StatusOK || !strings.Contains(body, "already exists") {
		t.Fatalf("re-import skips existing keys: %d %s", code, body)
	}
	bad := "Name,Key,Description,Enabled,UsagePlanIds\ngamma,gamma-key-0123456789abcdef,,true,a1b2c3\n"
	code, body = admin(t, app, http.MethodPost, "/usage-plans/import", bad)
	if code != http.StatusBadRequest || !strings.Contains(body, "row 2") || !strings.Contains(body, `unknown plan "a1b2c3"`) {
		t.Fatalf("unknown plan id: %d %s", code, body)
	}
	code, body = admin(t, app, http.MethodPost, "/usage-plans/import?plan=pro", bad)
	if code != http.StatusOK || !strings.Contains(body, "gamma") {
		t.Fatalf("plan override: %d %s", code, body)
	}
	if _, err := app.ImportCSV(context.Background(), strings.NewReader("Name,Description\nx,y\n"), "", nil); err == nil {
		t.Fatal("a CSV without a Key column must fail")
	}
}

// TestImportCSVRefusesMalformedRows: Enabled is true or false (any case);
// anything else, a truncated row, a short key or a long name is a 400
// naming the row, and nothing is created, not even the good rows before.
func TestImportCSVRefusesMalformedRows(t *testing.T) {
	const head = "Name,Key,Description,Enabled,UsagePlanIds\n"
	good := "ok,OKOKOKOKOKOKOKOKOKOKOKOKOK,x,TRUE,basic\n"
	cases := []struct{ name, rows, want string }{
		{"no", "a,AAAAAAAAAAAAAAAAAAAAAAAAA,x,no,basic\n", "row 3 (a): Enabled must be true or false"},
		{"zero", "b,BBBBBBBBBBBBBBBBBBBBBBBBB,x,0,basic\n", "row 3 (b): Enabled"},
		{"typo", "c,CCCCCCCCCCCCCCCCCCCCCCCCC,x,flase,basic\n", "row 3 (c): Enabled"},
		{"empty", "e,EEEEEEEEEEEEEEEEEEEEEEEEE,x,,basic\n", "row 3 (e): Enabled"},
		{"truncated", "d,DDDDDDDDDDDDDDDDDDDDDDDDD\n", "row 3 (d)"},
		{"short key", "s,short,x,true,basic\n", "row 3 (s): a key value must have at least 20"},
		{"long name", strings.Repeat("n", 129) + ",NNNNNNNNNNNNNNNNNNNNNNNNN,x,true,basic\n", "row 3: Name is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := newApp(t, &App{Plans: basicPlans()}, testkit.NewClock(noon))
			res, err := app.ImportCSV(context.Background(), strings.NewReader(head+good+c.rows), "basic", nil)
			if !errors.Is(err, errBadRequest) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("import: %v, want a bad request with %q", err, c.want)
			}
			if len(res.Imported) != 0 {
				t.Fatalf("imported %d keys from a file with a bad row", len(res.Imported))
			}
			if keys, _ := app.ListKeys(context.Background()); len(keys) != 0 {
				t.Fatalf("keys created before the bad row was found: %d", len(keys))
			}
		})
	}
	app := newApp(t, &App{Plans: basicPlans()}, testkit.NewClock(noon))
	if _, err := app.ImportCSV(context.Background(), strings.NewReader("Name,Key,UsagePlanIds\nx,XXXXXXXXXXXXXXXXXXXXXXXX,basic\n"), "", nil); err == nil || !strings.Contains(err.Error(), "no enabled column") {
		t.Fatalf("a CSV without an Enabled column: %v", err)
	}
	res, err := app.ImportCSV(context.Background(), strings.NewReader(head+"f,FFFFFFFFFFFFFFFFFFFFFFFFF,x,False,basic\n"), "", nil)
	if err != nil || len(res.Imported) != 1 || res.Imported[0].Enabled {
		t.Fatalf("Enabled False (any case) imports a disabled key: %+v %v", res, err)
	}
}
