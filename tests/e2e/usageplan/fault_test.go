package usageplan

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

const (
	faultCaddyfile = "tests/e2e/usageplan/testdata/fault.Caddyfile"
	faultTimeout   = 100 * time.Millisecond // store_timeout in fault.Caddyfile
)

// faultCluster is three gateways on one Redis: two deny and one allows
// when the store fails, all sharing one stored key.
type faultCluster struct {
	redis *testkit.Redis
	gws   []*testkit.Gateway
	allow []bool
	key   createdKey
}

func startFaultCluster(t *testing.T, r *testkit.Redis, upstream string, extra map[string]string) *faultCluster {
	t.Helper()
	fc := &faultCluster{redis: r}
	for i, mode := range []string{"deny", "deny", "allow"} {
		e := map[string]string{"GPUGATE_REDIS_URL": r.URL(0), "GPUGATE_ON_STORE_ERROR": mode, "GPUGATE_UPSTREAM": upstream}
		for k, v := range extra {
			e[k] = v
		}
		fc.gws = append(fc.gws, testkit.StartGateway(t, faultCaddyfile, testkit.GatewayOptions{PlainHTTP: true, Env: e}))
		fc.allow = append(fc.allow, mode == "allow")
		if i == 0 {
			fc.key = createKey(t, fc.gws[0], "load", "load")
		}
	}
	return fc
}

// tally counts what the clients of one gateway saw.
type tally struct {
	counted, uncounted, refused, unavailable, other atomic.Int64
	// unavailableEarly are the 503s to requests sent before the fault and
	// before the gateway's first 200: a key's first lookup there, with no
	// earlier answer to fall back on, that Redis did not answer within
	// store_timeout on a busy machine.
	unavailableEarly atomic.Int64
	// firstOK is when (unix ns) the gateway's first 200 arrived.
	firstOK atomic.Int64
	// firstCounted is when (unix ns) the first counted 200 after the
	// recovery arrived.
	firstCounted atomic.Int64
	// firstOther describes the first answer counted as other.
	firstOther atomic.Value
	// firstUnavailable is when the first 503 from the fault on came, and
	// its body.
	firstUnavailable atomic.Value
}

// load runs workers against every gateway until ctx ends, half on /fast
// and half on /slow; wait returns once they all stopped. faulted and
// recovered are set (unix ns) when the fault begins and ends.
func (fc *faultCluster) load(ctx context.Context, workers int, faulted, recovered *atomic.Int64) (tallies []*tally, wait func()) {
	tallies = make([]*tally, len(fc.gws))
	var wg sync.WaitGroup
	for i, g := range fc.gws {
		tallies[i] = &tally{}
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
		for w := range workers {
			path := "/fast"
			if w%2 == 1 {
				path = "/slow"
			}
			wg.Add(1)
			go func(tl *tally) {
				defer wg.Done()
				for ctx.Err() == nil {
					req, _ := http.NewRequest(http.MethodGet, g.URL+path, nil)
					req.Header.Set("X-Api-Key", fc.key.Value)
					sent := time.Now().UnixNano()
					resp, err := client.Do(req)
					if err != nil {
						tl.other.Add(1)
						tl.firstOther.CompareAndSwap(nil, err.Error())
						continue
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						tl.firstOK.CompareAndSwap(0, time.Now().UnixNano())
					}
					firstOK := tl.firstOK.Load()
					switch {
					case resp.StatusCode == http.StatusOK && resp.Header.Get("RateLimit") != "":
						tl.counted.Add(1)
						if rec := recovered.Load(); rec != 0 {
							tl.firstCounted.CompareAndSwap(0, time.Now().UnixNano())
						}
					case resp.StatusCode == http.StatusOK:
						tl.uncounted.Add(1)
					case resp.StatusCode == http.StatusTooManyRequests:
						tl.refused.Add(1)
					case resp.StatusCode == http.StatusServiceUnavailable && faulted.Load() == 0 && (firstOK == 0 || sent < firstOK):
						tl.unavailableEarly.Add(1)
					case resp.StatusCode == http.StatusServiceUnavailable:
						tl.unavailable.Add(1)
						tl.firstUnavailable.CompareAndSwap(nil, fmt.Sprintf("at %s: %s", time.Now().Format("15:04:05.000"), body))
					default:
						tl.other.Add(1)
						tl.firstOther.CompareAndSwap(nil, resp.Status)
					}
				}
			}(tallies[i])
		}
	}
	return tallies, wg.Wait
}

// accessEntry is one access-log line of a request.
type accessEntry struct {
	at       time.Time
	duration time.Duration
}

// accessLog returns the access-log lines for path.
func accessLog(logs, path string) []accessEntry {
	var out []accessEntry
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"http.log.access`) {
			continue
		}
		var e struct {
			TS       float64 `json:"ts"`
			Duration float64 `json:"duration"`
			Request  struct {
				URI string `json:"uri"`
			} `json:"request"`
		}
		if json.Unmarshal(line, &e) == nil && e.Request.URI == path {
			out = append(out, accessEntry{at: time.Unix(0, int64(e.TS*1e9)), duration: time.Duration(e.Duration * float64(time.Second))})
		}
	}
	return out
}

// p999 is the 99.9th percentile of ds (sorted in place).
func p999(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)*999/1000]
}

// leaseCount is the number of leases in Redis for the key's plan.
func leaseCount(t *testing.T, r *testkit.Redis, keyID string) int {
	t.Helper()
	line, err := r.Do("ZCARD", "gpugate:usage:{"+keyID+"}:leases:load")
	if err != nil || !strings.HasPrefix(line, ":") {
		return -1
	}
	n, _ := strconv.Atoi(line[1:])
	return n
}

// TestFaultSuite: three gateways (two on_store_error deny, one allow) on
// one Redis under load while Redis is paused 1.5 s, paused 5 s, and
// killed and restarted from its AOF. Decisions end within store_timeout
// + 10 ms (the access log's duration of /fast, 99.9th percentile, over the
// same percentile before the fault: the shared machine's own latency), a
// failing
// store gets 503 on the deny gateways and uncounted 200s on the allow
// one, every gateway counts again after the recovery, the quota used
// equals the counted 200s, and no lease is left 1 s after the load stops
// (the load runs 2 s past the recovery). Recovery times are logged.
func TestFaultSuite(t *testing.T) {
	// Not parallel: the package's other tests wait, so that decisions are
	// timed on a machine busy with this suite only.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(slow.Close)
	upstream := strings.TrimPrefix(slow.URL, "http://")
	// One fault at a time: nine gateways under load at once would leave the
	// two cores too busy to time decisions.
	for _, fault := range []string{"pause 1.5s", "pause 5s", "kill and restart"} {
		t.Run(fault, func(t *testing.T) {
			opts := testkit.RedisOptions{AppendOnly: true}
			r := testkit.StartRedis(t, opts)
			fc := startFaultCluster(t, r, upstream, nil)
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			var faulted, recovered atomic.Int64
			tallies, wait := fc.load(ctx, 4, &faulted, &recovered)
			time.Sleep(time.Second) // steady load first
			faultAt := time.Now()
			faulted.Store(faultAt.UnixNano())
			outage := 1500 * time.Millisecond
			switch fault {
			case "pause 1.5s":
				r.Pause()
			case "pause 5s":
				outage = 5 * time.Second
				r.Pause()
			default:
				outage = time.Second
				r.Stop()
			}
			time.Sleep(outage)
			switch fault {
			case "kill and restart":
				r.Restart(opts)
			default:
				r.Resume()
			}
			back := time.Now()
			recovered.Store(back.UnixNano())
			// Load goes on after the recovery: 2 s, as after a crash the Redis
			// client probes for the server once a second.
			time.Sleep(2 * time.Second)
			stop()
			wait()

			deadline := time.Now().Add(time.Second)
			for leaseCount(t, r, fc.key.ID) != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d leases still held 1 s after the load stopped", leaseCount(t, r, fc.key.ID))
				}
				time.Sleep(10 * time.Millisecond)
			}

			var counted int64
			for i, tl := range tallies {
				counted += tl.counted.Load()
				t.Logf("gateway %d (allow=%v): %d counted, %d uncounted, %d refused, %d unavailable (%d before the fault and the first 200), %d other; first counted 200 %s after the recovery",
					i, fc.allow[i], tl.counted.Load(), tl.uncounted.Load(), tl.refused.Load(), tl.unavailable.Load(), tl.unavailableEarly.Load(), tl.other.Load(),
					time.Duration(tl.firstCounted.Load()-back.UnixNano()).Round(time.Millisecond))
				if tl.other.Load() != 0 {
					t.Errorf("gateway %d: %d responses that are neither 200, 429 nor 503, the first: %v", i, tl.other.Load(), tl.firstOther.Load())
				}
				if tl.firstCounted.Load() == 0 {
					t.Errorf("gateway %d never counted again after the recovery", i)
				}
				if fc.allow[i] && (tl.unavailable.Load() != 0 || tl.uncounted.Load() == 0) {
					t.Errorf("allow gateway: %d 503s and %d uncounted 200s; want none and some (the first 503 %v; fault at %s, Redis back at %s)",
						tl.unavailable.Load(), tl.uncounted.Load(), tl.firstUnavailable.Load(), faultAt.Format("15:04:05.000"), back.Format("15:04:05.000"))
				}
				if !fc.allow[i] && (tl.unavailable.Load() == 0 || tl.uncounted.Load() != 0) {
					t.Errorf("deny gateway: %d 503s and %d uncounted 200s; want some and none", tl.unavailable.Load(), tl.uncounted.Load())
				}
			}
			// Undos of decisions that timed out may still be landing.
			var used int64
			for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				used = usageToday(t, fc.gws[0], "load", fc.key.ID)[0]
				if used == counted || time.Now().After(deadline) {
					break
				}
			}
			if used != counted {
				t.Errorf("quota used %d, counted 200s %d", used, counted)
			}
			// The machine's own latency: decisions before the fault.
			var before, during []time.Duration
			for _, g := range fc.gws {
				for _, e := range accessLog(g.Logs(), "/fast") {
					if e.at.Before(faultAt) {
						before = append(before, e.duration)
					} else {
						during = append(during, e.duration)
					}
				}
			}
			if len(before) == 0 || len(during) == 0 {
				t.Fatalf("access logs: %d decisions before the fault, %d after", len(before), len(during))
			}
			base, worst := p999(before), p999(during)
			t.Logf("/fast decisions: 99.9th percentile %s before the fault (%d), %s from the fault on (%d), slowest %s",
				base.Round(time.Microsecond), len(before), worst.Round(time.Microsecond), len(during), during[len(during)-1].Round(time.Microsecond))
			// A stalled store adds at most store_timeout + 10 ms to what the
			// shared machine's scheduling adds anyway.
			if bound := faultTimeout + 10*time.Millisecond + base; worst > bound {
				t.Errorf("decisions from the fault on: 99.9th percentile %s, more than store_timeout (%s) + 10 ms + the %s before the fault", worst, faultTimeout, base)
			}
		})
	}
}
