package usageplan

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

const gatewayCaddyfile = "caddyfiles/gateway.Caddyfile"

// startGateway runs gateway.Caddyfile with the basic plan tuned for a
// test: rate 2/s burst 3, quota 50 units per UTC day (a POST costs 10).
func startGateway(t *testing.T, u *upstream, dataDir string) *testkit.Gateway {
	return testkit.StartGateway(t, gatewayCaddyfile, testkit.GatewayOptions{Env: env(u, map[string]string{
		"GPUGATE_DATA":        dataDir,
		"GPUGATE_BASIC_RATE":  "2",
		"GPUGATE_BASIC_BURST": "3",
		"GPUGATE_BASIC_QUOTA": "50",
	})})
}

// TestKeyFromCLIThrottleQuotaAndReset walks a key's life: created with the
// CLI, admitted with RateLimit headers, throttled with an accurate
// Retry-After, refilled, out of quota until UTC midnight, and given its
// quota back with the CLI's quota reset (TestQuotaNextWindow crosses a
// real window boundary).
func TestKeyFromCLIThrottleQuotaAndReset(t *testing.T) {
	u := startUpstream(t)
	g := startGateway(t, u, t.TempDir())
	key := createKey(t, g, "acme", "basic")

	if code, _, body := call(t, g, http.MethodPost, "/api/items", ""); code != http.StatusForbidden || body != `{"message":"Forbidden"}` {
		t.Fatalf("no key: %d %s", code, body)
	}
	if code, _, _ := call(t, g, http.MethodPost, "/api/items", "gpg_unknown"); code != http.StatusForbidden {
		t.Fatalf("unknown key: %d", code)
	}

	// Burst of 3 (each POST costs 10 quota units).
	for i := range 3 {
		code, h, body := call(t, g, http.MethodPost, "/api/items", key.Value)
		if code != http.StatusOK || body != `{"ok":true}` {
			t.Fatalf("burst request %d: %d %s", i, code, body)
		}
		wantQuota := `"quota";r=` + strconv.Itoa(50-10*(i+1))
		if !strings.Contains(h.Get("RateLimit"), wantQuota) || !strings.Contains(h.Get("RateLimit-Policy"), `"quota";q=50;w=86400`) {
			t.Fatalf("request %d RateLimit %q / policy %q, want %s", i, h.Get("RateLimit"), h.Get("RateLimit-Policy"), wantQuota)
		}
	}
	seen := u.last()
	if seen.Get("X-Api-Key") != "" || seen.Get("X-Gpugate-Key-Id") != key.ID || seen.Get("X-Gpugate-Plan") != "basic" {
		t.Fatalf("upstream saw X-Api-Key %q, key id %q, plan %q", seen.Get("X-Api-Key"), seen.Get("X-Gpugate-Key-Id"), seen.Get("X-Gpugate-Plan"))
	}

	code, h, body := call(t, g, http.MethodPost, "/api/items", key.Value)
	if code != http.StatusTooManyRequests || body != `{"message":"Too Many Requests"}` || h.Get("Retry-After") != "1" {
		t.Fatalf("throttled: %d %s Retry-After %q", code, body, h.Get("Retry-After"))
	}
	before := u.count()

	time.Sleep(time.Second) // rate 2/s: two tokens back
	for i := range 2 {
		if code, _, _ := call(t, g, http.MethodPost, "/api/items", key.Value); code != http.StatusOK {
			t.Fatalf("after refill %d: %d", i, code)
		}
	}
	time.Sleep(600 * time.Millisecond)
	code, h, body = call(t, g, http.MethodPost, "/api/items", key.Value)
	if code != http.StatusTooManyRequests || body != `{"message":"Limit Exceeded"}` {
		t.Fatalf("quota used up: %d %s", code, body)
	}
	retry, _ := strconv.Atoi(h.Get("Retry-After"))
	if want := secondsToUTCMidnight(); retry < want-2 || retry > want+2 {
		t.Fatalf("Retry-After %d, want about %d (seconds to UTC midnight)", retry, want)
	}
	if u.count() != before+2 {
		t.Fatalf("rejected requests reached the upstream: %d, want %d", u.count(), before+2)
	}
	time.Sleep(600 * time.Millisecond)
	if code, _, _ := call(t, g, http.MethodGet, "/api/jobs/1", key.Value); code != http.StatusOK {
		t.Fatalf("a status poll costs 0 and passes with no quota left: %d", code)
	}
	if got := usageToday(t, g, "basic", key.ID); got != [2]int64{50, 0} {
		t.Fatalf("usage today = %v, want [50 0]", got)
	}

	// The operator resets the key's quota.
	var reset struct {
		Remaining int64 `json:"remaining"`
	}
	cli(t, g, &reset, "quota", "reset", key.ID)
	if reset.Remaining != 50 {
		t.Fatalf("quota reset left %d", reset.Remaining)
	}
	time.Sleep(600 * time.Millisecond)
	if code, h, _ := call(t, g, http.MethodPost, "/api/items", key.Value); code != http.StatusOK || !strings.Contains(h.Get("RateLimit"), `"quota";r=40`) {
		t.Fatalf("after reset: %d %q", code, h.Get("RateLimit"))
	}

	// Disable with the CLI: 403 at once.
	cli(t, g, nil, "keys", "disable", key.ID)
	if code, _, _ := call(t, g, http.MethodGet, "/api/jobs/1", key.Value); code != http.StatusForbidden {
		t.Fatalf("disabled key: %d", code)
	}
	logs := g.Logs()
	if strings.Contains(logs, key.Value) {
		t.Fatal("the key value appears in the gateway log")
	}
	if !strings.Contains(logs, `"usage_key_id":"`+key.ID+`"`) || !strings.Contains(logs, `"usage_plan":"basic"`) {
		t.Fatal("the access log lacks the key id and plan")
	}
}

// TestRefundOnUpstream5xx: a failed upstream call gives the units back.
func TestRefundOnUpstream5xx(t *testing.T) {
	u := startUpstream(t)
	g := startGateway(t, u, t.TempDir())
	key := createKey(t, g, "acme", "basic")
	if code, _, _ := call(t, g, http.MethodPost, "/api/fail", key.Value); code != http.StatusBadGateway {
		t.Fatalf("upstream 502 passes through: %d", code)
	}
	if got := usageToday(t, g, "basic", key.ID); got != [2]int64{0, 50} {
		t.Fatalf("usage after a refunded 502 = %v, want [0 50]", got)
	}
}

// TestStaticKeyAndJWTClaimKey: the Caddyfile's partner key works in its
// plan, and a JWT whose plan_key claim carries a key is bound to that key's
// plan without an X-Api-Key header.
func TestStaticKeyAndJWTClaimKey(t *testing.T) {
	u := startUpstream(t)
	g := startGateway(t, u, t.TempDir())
	if code, h, _ := call(t, g, http.MethodGet, "/api/jobs/1", partnerKey); code != http.StatusOK || !strings.Contains(h.Get("RateLimit-Policy"), "q=100000") {
		t.Fatalf("partner key: %d %q", code, h.Get("RateLimit-Policy"))
	}
	if u.last().Get("X-Gpugate-Key-Id") != "static-partner" || u.last().Get("X-Gpugate-Plan") != "pro" {
		t.Fatalf("upstream headers: %v", u.last())
	}
	key := createKey(t, g, "jwt-user", "basic")
	claims := testkit.StandardClaims("user-1", "", "")
	claims["plan_key"] = key.Value
	token := testkit.SignHS256(t, jwtSecret, claims)
	resp := g.Do(http.MethodGet, "/jwt/profile", nil, "Authorization", "Bearer "+token)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || u.last().Get("Authorization") != "" || u.last().Get("X-Gpugate-Key-Id") != key.ID {
		t.Fatalf("JWT-bound key: %d, upstream Authorization %q key id %q", resp.StatusCode, u.last().Get("Authorization"), u.last().Get("X-Gpugate-Key-Id"))
	}
	claims["plan_key"] = "gpg_not-a-key"
	resp = g.Do(http.MethodGet, "/jwt/profile", nil, "Authorization", "Bearer "+testkit.SignHS256(t, jwtSecret, claims))
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("JWT with an unknown plan_key: %d", resp.StatusCode)
	}
}

// TestRestartKillAndReloadKeepCountsAndKeys: counts and runtime keys
// survive a graceful restart, a kill -9 (after the 1 s flush), and a
// config reload.
func TestRestartKillAndReloadKeepCountsAndKeys(t *testing.T) {
	u := startUpstream(t)
	dataDir := t.TempDir()
	g := startGateway(t, u, dataDir)
	key := createKey(t, g, "acme", "basic")
	call(t, g, http.MethodPost, "/api/items", key.Value)
	call(t, g, http.MethodPost, "/api/items", key.Value)

	g.Stop()
	g.Start()
	if got := usageToday(t, g, "basic", key.ID); got != [2]int64{20, 30} {
		t.Fatalf("after restart: usage %v, want [20 30]", got)
	}
	db := filepath.Join(dataDir, "usage.db")
	before := statFile(t, db)
	if code, h, _ := call(t, g, http.MethodPost, "/api/items", key.Value); code != http.StatusOK || !strings.Contains(h.Get("RateLimit"), `"quota";r=20`) {
		t.Fatalf("key after restart: %d %q", code, h.Get("RateLimit"))
	}

	// The embedded store commits changed counts every 40 ms: kill -9 may
	// lose at most that interval, so once the commit has written the file
	// nothing may be lost.
	waitForFlush(t, db, before)
	g.Kill()
	g.Start()
	if got := usageToday(t, g, "basic", key.ID); got != [2]int64{30, 20} {
		t.Fatalf("after kill -9: usage %v, want [30 20]", got)
	}

	g.Reload(gatewayCaddyfile)
	if code, h, _ := call(t, g, http.MethodPost, "/api/items", key.Value); code != http.StatusOK || !strings.Contains(h.Get("RateLimit"), `"quota";r=10`) {
		t.Fatalf("after reload: %d %q", code, h.Get("RateLimit"))
	}
}

// fileState is what a write to a file changes.
type fileState struct {
	mod  time.Time
	size int64
}

func statFile(t *testing.T, path string) fileState {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileState{fi.ModTime(), fi.Size()}
}

// waitForFlush waits until the gateway has written the store file since
// before was taken and then left it alone for 500 ms (a bbolt commit
// writes its pages, syncs, and writes its meta page last), rather than
// sleeping a fixed time and hoping the flush happened on a loaded
// machine.
func waitForFlush(t *testing.T, path string, before fileState) {
	t.Helper()
	const quiet = 500 * time.Millisecond
	deadline := time.Now().Add(15 * time.Second)
	last, changed := before, time.Time{}
	for {
		now := statFile(t, path)
		if now != last {
			last, changed = now, time.Now()
		}
		if !changed.IsZero() && time.Since(changed) >= quiet {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the embedded store did not flush %s within 15 s; it commits every 40 ms", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEmbeddedGatewayExactQuotaUnderRace: 64 clients racing through one
// gateway for a quota of 100 get exactly 100 admissions.
func TestEmbeddedGatewayExactQuotaUnderRace(t *testing.T) {
	u := startUpstream(t)
	g := testkit.StartGateway(t, gatewayCaddyfile, testkit.GatewayOptions{Env: env(u, map[string]string{
		"GPUGATE_DATA":              t.TempDir(),
		"GPUGATE_BASIC_RATE":        "10000",
		"GPUGATE_BASIC_BURST":       "10000",
		"GPUGATE_BASIC_QUOTA":       "100",
		"GPUGATE_BASIC_CONCURRENCY": "1000",
	})})
	key := createKey(t, g, "acme", "basic")
	if got := race(t, http.MethodPut, "/api/items/1", key.Value, 64, 4, g); got != (raceResult{100, 156, 0}) || u.count() != 100 {
		t.Fatalf("64 clients, quota 100: %+v (admitted, limited, other), upstream saw %d", got, u.count())
	}
}

// TestConcurrencyCapPerKey: the basic plan's concurrency cap (2 here)
// counts in-flight requests and frees the slot when a response ends.
func TestConcurrencyCapPerKey(t *testing.T) {
	u := startUpstream(t)
	g := testkit.StartGateway(t, gatewayCaddyfile, testkit.GatewayOptions{Env: env(u, map[string]string{
		"GPUGATE_DATA":              t.TempDir(),
		"GPUGATE_BASIC_CONCURRENCY": "2",
	})})
	key := createKey(t, g, "acme", "basic")
	testConcurrencyCap(t, u, key.Value, g)
}

// TestQuotaNextWindow crosses a real quota window boundary: the basic
// plan's daily window is moved (GPUGATE_BASIC_QUOTA_OFFSET) so that a new
// day starts a few seconds into the test. The key uses its quota, gets 429
// "Limit Exceeded" with Retry-After = the seconds to the boundary, and is
// admitted again, with a full quota, once the boundary has passed.
func TestQuotaNextWindow(t *testing.T) {
	u := startUpstream(t)
	var g *testkit.Gateway
	var boundary time.Time
	for attempt := 1; ; attempt++ {
		boundary = time.Now().UTC().Add(12 * time.Second).Truncate(time.Second)
		offset := boundary.Sub(boundary.Truncate(24 * time.Hour)) // window days start at this time of day
		g = testkit.StartGateway(t, gatewayCaddyfile, testkit.GatewayOptions{Env: env(u, map[string]string{
			"GPUGATE_DATA":               t.TempDir(),
			"GPUGATE_BASIC_RATE":         "100",
			"GPUGATE_BASIC_BURST":        "100",
			"GPUGATE_BASIC_QUOTA":        "20",
			"GPUGATE_BASIC_QUOTA_OFFSET": fmt.Sprintf("%ds", int(offset/time.Second)),
		})})
		if time.Until(boundary) > 6*time.Second {
			break
		}
		g.Stop() // started too slowly (a first build): aim again
		if attempt == 3 {
			t.Fatal("the gateway took too long to start three times")
		}
	}
	key := createKey(t, g, "acme", "basic")
	for i := range 2 {
		code, h, _ := call(t, g, http.MethodPost, "/api/items", key.Value)
		if code != http.StatusOK || !strings.Contains(h.Get("RateLimit"), `"quota";r=`+strconv.Itoa(10-10*i)) {
			t.Fatalf("request %d: %d RateLimit %q", i, code, h.Get("RateLimit"))
		}
	}
	code, h, body := call(t, g, http.MethodPost, "/api/items", key.Value)
	if code != http.StatusTooManyRequests || body != `{"message":"Limit Exceeded"}` {
		t.Fatalf("quota used up: %d %s", code, body)
	}
	retry, _ := strconv.Atoi(h.Get("Retry-After"))
	if want := time.Until(boundary).Seconds(); float64(retry) < want-1 || float64(retry) > want+1.5 {
		t.Fatalf("Retry-After %d, want about %.1f (seconds to the window boundary)", retry, want)
	}
	if u.count() != 2 {
		t.Fatalf("the refused request reached the upstream: %d calls", u.count())
	}
	time.Sleep(time.Until(boundary) + 500*time.Millisecond)
	code, h, _ = call(t, g, http.MethodPost, "/api/items", key.Value)
	if code != http.StatusOK || !strings.Contains(h.Get("RateLimit"), `"quota";r=10`) {
		t.Fatalf("in the next window: %d RateLimit %q, want 200 with 10 left", code, h.Get("RateLimit"))
	}
}

// TestValidateWhileRunning: `gpugate validate` of the same Caddyfile (same
// file store) succeeds while a gateway holds the store, and does not
// disturb it.
func TestValidateWhileRunning(t *testing.T) {
	u := startUpstream(t)
	g := startGateway(t, u, t.TempDir())
	key := createKey(t, g, "acme", "basic")
	start := time.Now()
	out, err := g.Command("validate", "--config", testkit.Path(t, gatewayCaddyfile), "--adapter", "gpugate")
	if err != nil || !strings.Contains(out, "Valid configuration") {
		t.Fatalf("validate while the gateway runs: %v\n%s", err, out)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("validate took %v", took)
	}
	if code, _, _ := call(t, g, http.MethodPost, "/api/items", key.Value); code != http.StatusOK {
		t.Fatalf("the gateway after a validate: %d", code)
	}
}
