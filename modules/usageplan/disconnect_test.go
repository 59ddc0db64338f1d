package usageplan

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// gpuUpstream stands for an upstream that goes on working after the
// gateway drops its request (as a proxy does when the client hangs up):
// every request starts a job that runs until the test ends it.
type gpuUpstream struct {
	mu      sync.Mutex
	running int
	peak    int
}

func (u *gpuUpstream) start() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.running++
	u.peak = max(u.peak, u.running)
}

func (u *gpuUpstream) finishAll() {
	u.mu.Lock()
	u.running = 0
	u.mu.Unlock()
}

// hangUp sends one request whose client leaves while the upstream works.
func hangUp(t *testing.T, h *Handler, key string, u *gpuUpstream) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := get("/gpu", key).WithContext(ctx)
	res := do(t, h, r, func(w http.ResponseWriter, r *http.Request) error {
		u.start()
		cancel() // the client hangs up; the proxy gives up on the upstream at once
		return fmt.Errorf("%w: %w", errFromNext, r.Context().Err())
	})
	return res.status
}

// TestHoldAfterDisconnectKeepsTheUpstreamWithinTheCap: clients that hang
// up at once while the upstream keeps working. With the default (slots
// freed at once) four hang-ups put four jobs on a cap of two; with
// hold_after_disconnect the third hang-up is refused (429) until the hold
// has passed, so the upstream never runs more than the cap.
func TestHoldAfterDisconnectKeepsTheUpstreamWithinTheCap(t *testing.T) {
	for _, hold := range []time.Duration{0, time.Minute} {
		f := newFixture(t, map[string]*Plan{"basic": {Concurrency: 2, HoldAfterDisconnect: caddy.Duration(hold)}})
		var timers []func()
		f.app.afterFunc = func(d time.Duration, fn func()) {
			if d != hold {
				t.Errorf("release delayed by %s, want %s", d, hold)
			}
			timers = append(timers, fn)
		}
		h := newHandler(t, f.app, &Handler{Plans: []string{"basic"}})
		u := &gpuUpstream{}
		var refused int
		for range 4 {
			if hangUp(t, h, f.key, u) == http.StatusTooManyRequests {
				refused++
			}
		}
		switch hold {
		case 0:
			if u.peak != 4 || refused != 0 {
				t.Fatalf("default: upstream peak %d, refused %d; want 4 and 0 (the problem the hold solves)", u.peak, refused)
			}
		default:
			if u.peak != 2 || refused != 2 {
				t.Fatalf("hold %s: upstream peak %d, refused %d; want 2 and 2", hold, u.peak, refused)
			}
			if len(timers) != 2 {
				t.Fatalf("%d delayed releases, want 2", len(timers))
			}
			u.finishAll()
			for _, fn := range timers { // the hold passes
				fn()
			}
			if res := do(t, h, get("/gpu", f.key), nil); res.status != http.StatusOK {
				t.Fatalf("after the hold: %d, want 200", res.status)
			}
		}
		// A request whose client stays frees its slot at once.
		for range 3 {
			if res := do(t, h, get("/gpu", f.key), nil); res.status != http.StatusOK {
				t.Fatalf("hold %s: a completed request kept its slot: %d", hold, res.status)
			}
		}
	}
}
