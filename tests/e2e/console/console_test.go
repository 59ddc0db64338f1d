// Package console drives the operator console (modules/console) in Debian's
// headless Chromium against the built gateway with
// caddyfiles/gateway.Caddyfile: keys created, used, charted and disabled
// from the browser, and requests from other sites refused.
package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gpugate/gpugate/tests/testkit"
)

// upstream is the API behind the gateway: /api/slow waits until release
// is closed, anything else answers {"ok":true}.
type upstream struct {
	*httptest.Server
	release chan struct{}
	held    chan struct{}
	once    sync.Once
}

func startUpstream(t *testing.T) *upstream {
	u := &upstream{release: make(chan struct{}), held: make(chan struct{}, 10)}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/slow" {
			u.held <- struct{}{}
			<-u.release
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(u.Close)
	t.Cleanup(u.free) // before Close, which waits for held requests
	return u
}

// free lets held requests finish (once).
func (u *upstream) free() {
	u.once.Do(func() { close(u.release) })
}

// step runs browser actions with a bound, failing the test with what.
func step(t *testing.T, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// read runs one browser action that reads a value.
func read[T any](t *testing.T, tab context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// query reads property (a path such as dataset.used) of the element sel
// of the page in tab ("" when there is none), with the page's own DOM, so
// that sections the page's script replaced are read as they are now.
func query(t *testing.T, tab context.Context, sel, property string) string {
	t.Helper()
	expr := fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? String(el.%s ?? "") : ""; })()`, sel, property)
	return read(t, tab, "read "+sel, chromedp.Evaluate[string](expr))
}

// waitPage waits until the page in tab (after a navigation the test did not
// wait for) shows text.
func waitPage(t *testing.T, tab context.Context, what, text string) {
	t.Helper()
	var last string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tab, 2*time.Second)
		// While the page changes, evaluating may fail: try again.
		body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		cancel()
		if err == nil && strings.Contains(body, text) {
			return
		}
		last = body
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: the page shows %q, want %q", what, last, text)
}

// adminKey reads whether a key is enabled through the usage-plans admin API
// on the admin socket.
func adminKey(t *testing.T, socket, id string) (enabled bool) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://localhost/usage-plans/keys/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var k struct {
		Enabled bool `json:"enabled"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&k); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("admin GET key %s: %d %v", id, resp.StatusCode, err)
	}
	return k.Enabled
}

// startTunnel forwards connections to a loopback port to the unix socket, as
// `ssh -L` does, and returns the port's host:port.
func startTunnel(t *testing.T, socket string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				u, err := net.Dial("unix", socket)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
				_, _ = io.Copy(c, u)
			}()
		}
	}()
	return l.Addr().String()
}

// TestConsoleInABrowser: the operator opens the console by its address,
// creates a key there and reads its value off the page, uses it through the
// gateway, sees the request in the key's chart and its throttle bucket and
// concurrency slot, disables it, and the gateway refuses it. Pages and
// forms of another site get nothing done.
func TestConsoleInABrowser(t *testing.T) {
	testkit.Chromium(t) // skips early (fails under CI) without a browser
	u := startUpstream(t)
	// The admin endpoint on a unix socket, as in production, reached through
	// a tunnel like `ssh -L <port>:<socket> gateway`.
	socket := filepath.Join(t.TempDir(), "admin.sock")
	tunnel := startTunnel(t, socket)
	g := testkit.StartGateway(t, "caddyfiles/gateway.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_ADMIN":          "unix/" + socket,
		"GPUGATE_CONSOLE":        "on",
		"GPUGATE_CONSOLE_ORIGIN": tunnel,
		"GPUGATE_UPSTREAM":       strings.TrimPrefix(u.URL, "http://"),
		"GPUGATE_API_KEY":        "partner-key-0123456789abcdefghij",
		"GPUGATE_JWT_SECRET":     "jwt-secret-0123456789abcdefghijkl",
		"GPUGATE_DATA":           t.TempDir(),
		// A slow refill, so the bucket still shows the request when the
		// page is read.
		"GPUGATE_BASIC_RATE":  "0.01",
		"GPUGATE_BASIC_BURST": "5",
	}})
	console := "http://" + tunnel + "/gpugate/console/"
	tab := testkit.StartBrowser(t, testkit.BrowserOptions{})

	step(t, tab, "open the console", chromedp.Navigate(console), chromedp.WaitVisible(chromedp.ID("create")))
	if js := read(t, tab, "the script ran", chromedp.Evaluate[string](`document.documentElement.dataset.js || ""`)); js != "on" {
		t.Fatal("the console's script did not run (blocked by its Content-Security-Policy?)")
	}
	plans := query(t, tab, "#plans", "innerText")
	for _, want := range []string{"basic", "0.01 req/s, burst 5", "POST /api/generate: 1 req/s, burst 5", "1000 per day", "pro", "100000 per month", "64 in flight"} {
		if !strings.Contains(plans, want) {
			t.Errorf("the plans section lacks %q:\n%s", want, plans)
		}
	}

	step(t, tab, "create a key",
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "browser-acme"),
		chromedp.Click(chromedp.CSS(`input[name="plan"][value="basic"]`)),
		chromedp.Click(chromedp.CSS(`#create button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("key-value")))
	value := query(t, tab, "#key-value", "textContent")
	keyPage := query(t, tab, "#key-link", "pathname")
	if !strings.HasPrefix(value, "gpg_") || len(value) != 44 {
		t.Fatalf("the page shows %q as the key's value", value)
	}

	if r := g.Call(http.MethodPost, "/api/items", []byte(`{}`), "X-Api-Key", value); r.Status != http.StatusOK || strings.TrimSpace(r.Text()) != `{"ok":true}` {
		t.Fatalf("the new key through the gateway: %d %s", r.Status, r.Text())
	}

	// The overview's live section picks the request up without a reload.
	step(t, tab, "back to the list", chromedp.Click(chromedp.CSS(`#created a[href="/gpugate/console/"]`)), chromedp.WaitVisible(chromedp.ID("keys")))
	testkit.Eventually(t, 10*time.Second, "the list shows today's use", func() bool {
		return strings.Contains(query(t, tab, "#keys", "innerText"), "basic: 10")
	})

	// A request in flight holds a concurrency slot.
	slow := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/api/slow", nil)
		req.Header.Set("X-Api-Key", value)
		resp, err := g.Client().Do(req)
		if err != nil {
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	<-u.held

	// (Clicked from the page's script: the live list may be replaced between
	// a lookup of the link and a click on it.)
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector('#keys a[href=%q]').click(), true`, keyPage))); err != nil {
		t.Fatalf("click the key's link: %v", err)
	}
	step(t, tab, "open the key", chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("key")))
	id := query(t, tab, `#key`, "dataset.keyId")
	if keyPage != "/gpugate/console/keys/"+id {
		t.Fatalf("opened key %s, want %s", id, keyPage)
	}
	today, total := query(t, tab, `#plan-basic rect.bar.today`, "dataset.used"), query(t, tab, `#plan-basic svg`, "dataset.total")
	if today != "10" || total != "10" {
		t.Fatalf("the chart shows %q today and %q in all, want the POST's 10 units", today, total)
	}
	available := query(t, tab, `#state-basic tr[data-bucket="plan default"] td[data-available]`, "textContent")
	inFlight := query(t, tab, `#state-basic [data-in-flight]`, "dataset.inFlight")
	if available != "3" || inFlight != "1" {
		t.Fatalf("limits now: %s of 5 in the bucket and %s in flight, want 3 (two requests) and 1", available, inFlight)
	}
	if os.Getenv("GPUGATE_WRITE_SCREENSHOT") == "1" {
		png := read(t, tab, "screenshot", chromedp.FullScreenshot(100))
		if err := os.WriteFile(testkit.Path(t, "modules/console/console.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	u.free()
	if code := <-slow; code != http.StatusOK {
		t.Fatalf("the slow request: %d", code)
	}

	step(t, tab, "disable the key", chromedp.Click(chromedp.CSS(`form[action$="/disable"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/enable"]`)))
	if flash := query(t, tab, ".flash", "textContent"); flash != "Key disabled: requests with it get 403." {
		t.Fatalf("notice %q", flash)
	}
	if r := g.Call(http.MethodPost, "/api/items", []byte(`{}`), "X-Api-Key", value); r.Status != http.StatusForbidden || r.Message(t) != "Forbidden" {
		t.Fatalf("the disabled key through the gateway: %d %s", r.Status, r.Text())
	}
	if adminKey(t, socket, id) {
		t.Fatal("the admin API says the key is enabled")
	}
	if strings.Contains(g.Logs(), value) || strings.Contains(g.Logs(), value[4:]) {
		t.Fatal("the key's value is in the gateway's log")
	}

	t.Run("reads without JavaScript", func(t *testing.T) {
		if _, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_, _ = chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
		}()
		step(t, tab, "open the key", chromedp.Navigate(console+"keys/"+id), chromedp.WaitVisible(chromedp.ID("key")))
		if js := read(t, tab, "the script", chromedp.AttributeValue(chromedp.CSS("html"), "data-js")); js.Exists {
			t.Fatal("the script ran")
		}
		today := read(t, tab, "read today's bar", chromedp.AttributeValue(chromedp.CSS(`#plan-basic rect.bar.today`), "data-used"))
		status := read(t, tab, "read the status", chromedp.Text(chromedp.ID("key-status")))
		if today.Value != "10" || status != "disabled" {
			t.Fatalf("without JavaScript: today %q, status %q", today.Value, status)
		}
	})

	t.Run("another site gets nothing done", func(t *testing.T) {
		// A page of another origin with a form that would enable the key
		// and a link to the console that sends no Referer.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><title>elsewhere</title>
<form id="f" method="post" action="%skeys/%s/enable"><button>win a prize</button></form>
<a id="l" rel="noreferrer" href="%s">console</a>`, console, id, console)
		}))
		t.Cleanup(evil.Close)
		foreign := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)

		step(t, tab, "submit the other site's form", chromedp.Navigate(foreign), chromedp.Click(chromedp.CSS("#f button")))
		waitPage(t, tab, "the admin endpoint's answer to the form", "client is not allowed to access from origin")
		if adminKey(t, socket, id) {
			t.Fatal("another site's form enabled the key")
		}

		step(t, tab, "follow the other site's link", chromedp.Navigate(foreign), chromedp.Click(chromedp.ID("l")))
		waitPage(t, tab, "the console's answer to the link", "Cross-origin request refused")
	})
}
