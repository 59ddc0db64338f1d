package console

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
	"github.com/gpugate/gpugate/modules/usageplan"
)

// createKey creates a key through the console's form and returns the
// value the page showed and the key's id.
func createKey(t *testing.T, f *fixture, form url.Values) (value, id string) {
	t.Helper()
	res := f.do(t, post(Base+"keys", form))
	if res.status != http.StatusOK {
		t.Fatalf("create: %d\n%s", res.status, res.body)
	}
	m := regexp.MustCompile(`<code id="key-value">(gpg_[A-Za-z0-9]+)</code>`).FindStringSubmatch(res.body)
	l := regexp.MustCompile(`<a id="key-link" href="/gpugate/console/keys/([a-z0-9]+)">`).FindStringSubmatch(res.body)
	if m == nil || l == nil {
		t.Fatalf("the created page shows no value or link:\n%s", res.body)
	}
	return m[1], l[1]
}

func TestOverviewListsPlansLimitsAndKeysWithoutSecrets(t *testing.T) {
	t.Setenv("CONSOLE_TEST_PARTNER_KEY", "partner-value-0123456789abcdef")
	f := newFixture(t, &usageplan.App{Keys: []usageplan.StaticKey{
		{Name: "partner", Value: "{env.CONSOLE_TEST_PARTNER_KEY}", Plans: []string{"basic"}}}})
	value, id := createKey(t, f, url.Values{"name": {"acme"}, "description": {"Acme Corp"}, "plan": {"basic", "free"}})

	res := f.do(t, get(Base))
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("overview: %d %s", res.status, res.header.Get("Content-Type"))
	}
	for _, want := range []string{
		`<tr data-plan="basic">`, `<td>10 req/s, burst 20</td>`, `<div>POST /api/generate: 1 req/s, burst 5</div>`,
		`<td>1000 per day</td>`, `<td>8 in flight</td>`, `<tr data-plan="free">`, `<td>no cap</td>`,
		`<tr data-key-id="static-partner">`, `<tr data-key-id="` + id + `">`, `<a href="/gpugate/console/keys/` + id + `">acme</a>`,
		`Acme Corp`, `<div data-today="basic">basic: 0</div>`, `<strong>usage_plans.store</strong> ok: memory store answered`,
		`store healthy`, `<input type="checkbox" name="plan" value="free">`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("overview lacks %s", want)
		}
	}
	for _, secret := range []string{value, "partner-value-0123456789abcdef", usageplan.HashKey(value), usageplan.HashKey("partner-value-0123456789abcdef")} {
		if strings.Contains(res.body, secret) {
			t.Errorf("the overview shows a key value or hash (%s...)", secret[:8])
		}
	}
	key := f.do(t, get(Base+"keys/"+id))
	if key.status != http.StatusOK || strings.Contains(key.body, value) || strings.Contains(key.body, usageplan.HashKey(value)) {
		t.Fatalf("key page: %d, shows the value: %v", key.status, strings.Contains(key.body, value))
	}
}

func TestCreateShowsTheValueOnceAndStoresIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &usageplan.App{})
	res := f.do(t, post(Base+"keys", url.Values{"name": {"acme"}, "plan": {"basic"}}))
	if res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the page with the value may be cached: Cache-Control %q", res.header.Get("Cache-Control"))
	}
	value, id := createKey(t, f, url.Values{"name": {"acme"}, "plan": {"basic"}})
	kv, err := f.app.Key(t.Context(), id)
	if err != nil || kv.Name != "acme" || !kv.Enabled || len(kv.Plans) != 1 || kv.Plans[0] != "basic" || kv.Value != "" {
		t.Fatalf("stored key: %+v %v", kv, err)
	}
	keys, _ := f.app.ListKeys(t.Context())
	if len(keys) != 2 {
		t.Fatalf("%d keys, want 2", len(keys))
	}
	// The value is the key's: its hash is the one stored.
	for _, page := range []string{Base, Base + "keys/" + id} {
		if strings.Contains(f.do(t, get(page)).body, value) {
			t.Errorf("%s shows the value again", page)
		}
	}
}

func TestCreateErrorKeepsTheForm(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &usageplan.App{})
	res := f.do(t, post(Base+"keys", url.Values{"name": {`Bob's "key"`}, "description": {"for <Bob>"}}))
	if res.status != http.StatusBadRequest {
		t.Fatalf("no plan: %d, want 400", res.status)
	}
	for _, want := range []string{
		"The key was not created: name at least one plan (declared: basic, free)",
		`value="Bob&#39;s &#34;key&#34;"`, `value="for &lt;Bob&gt;"`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the form sent back lacks %s", want)
		}
	}
	res = f.do(t, post(Base+"keys", url.Values{"name": {"x"}, "plan": {"gold", "free"}}))
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, `unknown plan &#34;gold&#34;`) ||
		!strings.Contains(res.body, `value="free" checked`) {
		t.Fatalf("unknown plan: %d\n%s", res.status, res.body)
	}
	if keys, _ := f.app.ListKeys(t.Context()); len(keys) != 0 {
		t.Fatalf("a refused form created %d keys", len(keys))
	}
}

func TestEverythingShownIsEscaped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &usageplan.App{})
	_, id := createKey(t, f, url.Values{"name": {`<script>alert(1)</script>`}, "description": {`"><img src=x onerror=alert(2)>`}, "plan": {"basic"}})
	for _, page := range []string{Base, Base + "keys/" + id} {
		body := f.do(t, get(page)).body
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s renders a key's name or description as HTML", page)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s lacks the escaped name", page)
		}
	}
	// Paths are echoed escaped too.
	res := f.do(t, get(Base+"keys/%3Cb%3E"))
	if res.status != http.StatusNotFound || strings.Contains(res.body, "<b>") {
		t.Fatalf("unknown key: %d, raw <b> in page: %v", res.status, strings.Contains(res.body, "<b>"))
	}
}

func TestCrossOriginRequestsAreRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &usageplan.App{})
	_, id := createKey(t, f, url.Values{"name": {"acme"}, "plan": {"basic"}})
	disable := func(headers map[string]string) reply {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:2019"+Base+"keys/"+id+"/disable", nil)
		for k, v := range headers {
			r.Header.Set(k, v)
		}
		return f.do(t, r)
	}
	for name, headers := range map[string]map[string]string{
		"another site's form (Sec-Fetch-Site)": {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		"an older browser (Origin only)":       {"Origin": "https://evil.example"},
		"an opaque origin":                     {"Origin": "null"},
		"another port of the same host":        {"Origin": "http://127.0.0.1:8080"},
		"a sibling site":                       {"Sec-Fetch-Site": "same-site"},
	} {
		if res := disable(headers); res.status != http.StatusForbidden || !strings.Contains(res.body, "Cross-origin request refused") {
			t.Errorf("%s: %d, want 403", name, res.status)
		}
	}
	if kv, _ := f.app.Key(t.Context(), id); !kv.Enabled {
		t.Fatal("a refused request disabled the key")
	}
	// Another site cannot open a page either (a link or a frame).
	r := get(Base)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := f.do(t, r); res.status != http.StatusForbidden {
		t.Fatalf("a page for another site: %d, want 403", res.status)
	}
	// The console's own pages, a typed address and non-browser clients pass.
	typed := get(Base)
	typed.Header.Set("Sec-Fetch-Site", "none")
	if res := f.do(t, typed); res.status != http.StatusOK {
		t.Fatalf("a typed address: %d", res.status)
	}
	if res := disable(map[string]string{}); res.status != http.StatusSeeOther {
		t.Fatalf("curl: %d, want 303", res.status)
	}
	if res := f.do(t, post(Base+"keys/"+id+"/enable", nil)); res.status != http.StatusSeeOther {
		t.Fatalf("the console's own form: %d, want 303", res.status)
	}
}

func TestKeyActions(t *testing.T) {
	t.Setenv("CONSOLE_TEST_PARTNER_KEY", "partner-value-0123456789abcdef")
	f := newFixture(t, &usageplan.App{Keys: []usageplan.StaticKey{
		{Name: "partner", Value: "{env.CONSOLE_TEST_PARTNER_KEY}", Plans: []string{"basic"}}}})
	value, id := createKey(t, f, url.Values{"name": {"acme"}, "plan": {"basic"}})
	page := Base + "keys/" + id

	res := f.do(t, get(page))
	if !strings.Contains(res.body, `action="`+page+`/disable"`) || strings.Contains(res.body, `action="`+page+`/enable"`) ||
		!strings.Contains(res.body, `data-confirm="Delete this key?`) {
		t.Fatalf("an enabled key's buttons:\n%s", res.body)
	}
	res = f.do(t, post(page+"/disable", nil))
	if res.status != http.StatusSeeOther || res.header.Get("Location") != page+"?done=disable" {
		t.Fatalf("disable: %d %s", res.status, res.header.Get("Location"))
	}
	if kv, _ := f.app.Key(t.Context(), id); kv.Enabled {
		t.Fatal("still enabled")
	}
	res = f.do(t, get(page+"?done=disable"))
	if !strings.Contains(res.body, "Key disabled: requests with it get 403.") || !strings.Contains(res.body, `action="`+page+`/enable"`) ||
		!strings.Contains(res.body, `<span id="key-status" class="badge bad">disabled</span>`) {
		t.Fatalf("the disabled key's page:\n%s", res.body)
	}
	if res := f.do(t, get(page+"?done=%3Cb%3Ehi")); strings.Contains(res.body, `<p class="flash"`) {
		t.Fatal("a notice from the URL is shown")
	}
	if res := f.do(t, post(page+"/enable", nil)); res.status != http.StatusSeeOther {
		t.Fatalf("enable: %d", res.status)
	}
	if kv, _ := f.app.Key(t.Context(), id); !kv.Enabled {
		t.Fatal("not enabled again")
	}
	if res := f.do(t, post(page+"/launch", nil)); res.status != http.StatusNotFound {
		t.Fatalf("unknown action: %d", res.status)
	}
	static := f.do(t, get(Base+"keys/static-partner"))
	if strings.Contains(static.body, `<form method="post"`) || !strings.Contains(static.body, "declared in the configuration") {
		t.Fatalf("a configured key has buttons:\n%s", static.body)
	}
	if res := f.do(t, post(Base+"keys/static-partner/disable", nil)); res.status != http.StatusConflict ||
		!strings.Contains(res.body, "is declared in the configuration; change it there and reload") {
		t.Fatalf("disable a configured key: %d\n%s", res.status, res.body)
	}
	rotated := f.do(t, post(page+"/rotate", nil))
	m := regexp.MustCompile(`<code id="key-value">(gpg_[A-Za-z0-9]+)</code>`).FindStringSubmatch(rotated.body)
	if rotated.status != http.StatusOK || m == nil || m[1] == value || !strings.Contains(rotated.body, "this value replaces the previous one") {
		t.Fatalf("rotate: %d\n%s", rotated.status, rotated.body)
	}
	if kv, _ := f.app.Key(t.Context(), id); time.Until(kv.PreviousValidUntil) < 23*time.Hour {
		t.Fatalf("after a rotation the old value's grace is %v, want 24h", kv.PreviousValidUntil)
	}
	if res := f.do(t, get(page)); strings.Contains(res.body, m[1]) || strings.Contains(res.body, usageplan.HashKey(m[1])) {
		t.Fatal("the key page shows the new value or its hash")
	}
	res = f.do(t, post(page+"/delete", nil))
	if res.status != http.StatusSeeOther || res.header.Get("Location") != Base+"?done=delete" {
		t.Fatalf("delete: %d %s", res.status, res.header.Get("Location"))
	}
	if _, err := f.app.Key(t.Context(), id); err == nil {
		t.Fatal("the key is still there")
	}
	if res := f.do(t, get(Base+"?done=delete")); !strings.Contains(res.body, "Key deleted.") || strings.Contains(res.body, id) {
		t.Fatal("the list after a delete")
	}
	if res := f.do(t, get(page)); res.status != http.StatusNotFound || !strings.Contains(res.body, "no such key") {
		t.Fatalf("a deleted key's page: %d", res.status)
	}
	if res := f.do(t, post(page+"/disable", nil)); res.status != http.StatusNotFound {
		t.Fatalf("disable a deleted key: %d", res.status)
	}
}

func TestKeyPageShowsLimitsNowAndThirtyDays(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &usageplan.App{})
	_, id := createKey(t, f, url.Values{"name": {"acme"}, "plan": {"basic", "free"}})
	res := f.do(t, get(Base+"keys/"+id))
	for _, want := range []string{
		`<section class="plan" id="plan-basic">`,
		`Throttle 10 req/s, burst 20; POST /api/generate: 1 req/s, burst 5. Quota 1000 per day. Concurrency 8 in flight.`,
		`<tr data-bucket="plan default"><td>plan default</td><td>10 req/s</td><td>20</td><td data-available>20</td><td>0s</td></tr>`,
		`<tr data-bucket="POST /api/generate"><td>POST /api/generate</td><td>1 req/s</td><td>5</td><td data-available>5</td>`,
		`<p data-in-flight="0">Concurrency: 0 in flight of 8.</p>`,
		`Quota left after today&#39;s requests: 1000 of 1000 per day`,
		`<section class="plan" id="plan-free">`, `This plan has no throttle.`, `Concurrency: 0 in flight (no cap).`,
		`This plan has no quota, so its use is not counted`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("key page lacks %s", want)
		}
	}
	if n := strings.Count(res.body, `<rect class="bar`); n != 2*chartDays {
		t.Errorf("%d bars, want %d per plan", n, chartDays)
	}
}

func TestPagesInlineOnlyWhatTheirPolicyAllows(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &usageplan.App{})
	res := f.do(t, get(Base))
	csp := res.header.Get("Content-Security-Policy")
	for name, re := range map[string]*regexp.Regexp{"script": regexp.MustCompile(`(?s)<script>(.*?)</script>`), "style": regexp.MustCompile(`(?s)<style>(.*?)</style>`)} {
		m := re.FindAllStringSubmatch(res.body, -1)
		if len(m) != 1 {
			t.Fatalf("%d %s elements, want 1", len(m), name)
		}
		sum := sha256.Sum256([]byte(m[0][1]))
		if want := name + "-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP lacks %s", want)
		}
	}
	if res.header.Get("X-Frame-Options") != "DENY" || res.header.Get("Referrer-Policy") != "same-origin" {
		t.Errorf("headers: %v", res.header)
	}
	if regexp.MustCompile(`(?i)<(link|img|script) [^>]*(href|src)=`).MatchString(strings.ReplaceAll(res.body, `<link rel="icon" href="data:,">`, "")) ||
		regexp.MustCompile(`\son[a-z]+=`).MatchString(res.body) || strings.Contains(res.body, ` style="`) {
		t.Error("a page loads a resource or has inline handlers or style attributes (the admin endpoint or the CSP refuses them)")
	}
}

func TestMethodsAndUnknownPaths(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &usageplan.App{})
	if res := f.do(t, httptest.NewRequest(http.MethodPut, Base, nil)); res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("PUT: %d Allow %q", res.status, res.header.Get("Allow"))
	}
	if res := f.do(t, httptest.NewRequest(http.MethodGet, Base+"keys", nil)); res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") != "POST" {
		t.Fatalf("GET keys: %d Allow %q", res.status, res.header.Get("Allow"))
	}
	if res := f.do(t, get(Base+"nope")); res.status != http.StatusNotFound {
		t.Fatalf("unknown page: %d", res.status)
	}
}

func TestStoreFailureIsShown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &usageplan.App{})
	if err := f.app.Cleanup(); err != nil { // the store closes: every call fails
		t.Fatal(err)
	}
	res := f.do(t, get(Base))
	if res.status != http.StatusOK || !strings.Contains(res.body, "store failing") ||
		!strings.Contains(res.body, "the store is not open yet") || !strings.Contains(res.body, `<p class="error" role="alert">usage plans store: not open yet`) {
		t.Fatalf("overview with a failing store: %d\n%s", res.status, res.body)
	}
	if res := f.do(t, post(Base+"keys", url.Values{"name": {"x"}, "plan": {"basic"}})); res.status != http.StatusServiceUnavailable {
		t.Fatalf("create with a failing store: %d", res.status)
	}
}

func TestWithoutUsagePlans(t *testing.T) {
	t.Parallel()
	c := new(Console)
	if err := c.Provision(adapttest.Context(t)); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := c.serve(rec, get(Base)); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "no usage_plans global option") {
		t.Fatalf("no usage plans: %d\n%s", rec.Code, rec.Body.String())
	}
}
