package usageplan

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

const (
	partnerKey = "partner-key-0123456789abcdefghij"
	jwtSecret  = "jwt-secret-0123456789abcdefghijkl"
)

// upstream is the API behind the gateway; it records what reached it.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
	// hold is where /api/slow requests wait until the test closes it.
	hold chan struct{}
	// held counts /api/slow requests that are waiting.
	held chan struct{}
}

func startUpstream(t *testing.T) *upstream {
	u := &upstream{hold: make(chan struct{}), held: make(chan struct{}, 100)}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.mu.Unlock()
		if r.URL.Path == "/api/slow" {
			u.held <- struct{}{}
			<-u.hold
		}
		if r.URL.Path == "/api/fail" {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(u.Close)
	t.Cleanup(u.release)
	return u
}

func (u *upstream) last() http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		return nil
	}
	return u.seen[len(u.seen)-1]
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

// env is the gateway environment for a test.
func env(u *upstream, extra map[string]string) map[string]string {
	e := map[string]string{
		"GPUGATE_UPSTREAM":   strings.TrimPrefix(u.URL, "http://"),
		"GPUGATE_API_KEY":    partnerKey,
		"GPUGATE_JWT_SECRET": jwtSecret,
	}
	for k, v := range extra {
		e[k] = v
	}
	return e
}

// cli runs `gpugate usage-plans args... --address <admin>` and decodes the
// JSON it prints into out (when non-nil).
func cli(t *testing.T, g *testkit.Gateway, out any, args ...string) string {
	t.Helper()
	args = append(append([]string{"usage-plans"}, args...), "--address", g.AdminAddr)
	text, err := g.Command(args...)
	if err != nil {
		t.Fatalf("gpugate %s: %v\n%s", strings.Join(args, " "), err, text)
	}
	if out != nil {
		start := strings.IndexAny(text, "{[")
		if start < 0 {
			t.Fatalf("gpugate %s printed no JSON:\n%s", strings.Join(args, " "), text)
		}
		if err := json.NewDecoder(strings.NewReader(text[start:])).Decode(out); err != nil {
			t.Fatalf("decoding the output of gpugate %s: %v\n%s", strings.Join(args, " "), err, text)
		}
	}
	return text
}

// createdKey is the CLI's answer to keys create.
type createdKey struct {
	ID    string   `json:"id"`
	Value string   `json:"value"`
	Plans []string `json:"plans"`
}

func createKey(t *testing.T, g *testkit.Gateway, name string, plans ...string) createdKey {
	t.Helper()
	args := []string{"keys", "create", "--name", name}
	for _, p := range plans {
		args = append(args, "--plan", p)
	}
	var k createdKey
	text := cli(t, g, &k, args...)
	if k.ID == "" || !strings.HasPrefix(k.Value, "gpg_") || !strings.Contains(text, "not shown again") {
		t.Fatalf("keys create printed %q", text)
	}
	return k
}

// call sends one request with an API key and returns status, headers and
// body.
func call(t *testing.T, g *testkit.Gateway, method, path, key string) (int, http.Header, string) {
	t.Helper()
	var hdr []string
	if key != "" {
		hdr = []string{"X-Api-Key", key, "X-Gpugate-Key-Id", "forged-by-client"}
	}
	resp := g.Do(method, path, nil, hdr...)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(bytes.TrimSpace(b))
}

// usageToday returns today's [used, remaining] of a key from the CLI.
func usageToday(t *testing.T, g *testkit.Gateway, plan, keyID string) [2]int64 {
	t.Helper()
	today := time.Now().UTC().Format(time.DateOnly)
	var u struct {
		Values map[string][][2]int64 `json:"values"`
	}
	cli(t, g, &u, "usage", "--plan", plan, "--key", keyID, "--start", today, "--end", today)
	days := u.Values[keyID]
	if len(days) != 1 {
		t.Fatalf("usage for %s: %v", keyID, u.Values)
	}
	return days[0]
}

// secondsToUTCMidnight is the Retry-After a daily quota gives now.
func secondsToUTCMidnight() int {
	now := time.Now().UTC()
	y, m, d := now.Date()
	return int(time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC).Sub(now).Seconds())
}

// release lets every held /api/slow request finish; safe to call twice.
func (u *upstream) release() {
	select {
	case <-u.hold:
	default:
		close(u.hold)
	}
}

// testConcurrencyCap holds two slow requests (cap 2), one through each
// gateway given, expects a third to get 429 "Too Many Concurrent
// Requests", then releases them and expects the slot back.
func testConcurrencyCap(t *testing.T, u *upstream, key string, gws ...*testkit.Gateway) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range 2 {
		g := gws[i%len(gws)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := g.Do(http.MethodGet, "/api/slow", nil, "X-Api-Key", key)
			resp.Body.Close()
		}()
	}
	for range 2 {
		select {
		case <-u.held:
		case <-time.After(10 * time.Second):
			t.Fatal("slow requests did not reach the upstream")
		}
	}
	last := gws[len(gws)-1]
	code, h, body := call(t, last, http.MethodGet, "/api/jobs/1", key)
	if code != http.StatusTooManyRequests || body != `{"message":"Too Many Concurrent Requests"}` || h.Get("Retry-After") == "" {
		t.Fatalf("third in flight: %d %s Retry-After %q", code, body, h.Get("Retry-After"))
	}
	u.release()
	wg.Wait()
	if code, _, _ := call(t, last, http.MethodGet, "/api/jobs/1", key); code != http.StatusOK {
		t.Fatalf("after the slow requests ended: %d", code)
	}
}

// raceResult counts the answers of a race.
type raceResult struct{ ok, limited, other int64 }

// race sends workers*each requests (method path with the key) at once,
// worker w through gws[w%len(gws)], and counts 200s, 429s and the rest
// (transport errors included).
func race(t *testing.T, method, path, key string, workers, each int, gws ...*testkit.Gateway) raceResult {
	t.Helper()
	var ok, limited, other atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		g := gws[w%len(gws)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := g.Client()
			for range each {
				req, _ := http.NewRequest(method, g.URL+path, nil)
				req.Header.Set("X-Api-Key", key)
				resp, err := client.Do(req)
				if err != nil {
					other.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusTooManyRequests:
					limited.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return raceResult{ok.Load(), limited.Load(), other.Load()}
}
