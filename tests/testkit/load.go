package testkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load generator limits: it is meant for loopback benchmarks on a shared
// machine, never for load against a real service.
const (
	MaxLoadWorkers  = 256
	MaxLoadRequests = 2_000_000
	MaxLoadDuration = 5 * time.Minute
)

// LoadOptions configures Load. Exactly one of Duration and Requests sets
// when it stops.
type LoadOptions struct {
	// Client sends the requests (e.g. Gateway.Client()); nil means a
	// client with keep-alive sized for Workers.
	Client *http.Client
	// NewRequest builds each request; it must target a loopback host.
	NewRequest func() (*http.Request, error)
	// Workers is how many requests are in flight at once (1..MaxLoadWorkers).
	Workers int
	// Duration runs the load for this long.
	Duration time.Duration
	// Requests sends exactly this many requests.
	Requests int
	// Warmup sends this many requests first, not measured.
	Warmup int
	// WantStatus is the status a successful answer has (default 200).
	WantStatus int
}

// LoadResult summarises a load run.
type LoadResult struct {
	Requests int           // requests answered with WantStatus
	Errors   int           // transport errors and other statuses
	Elapsed  time.Duration // wall time of the measured run
	RPS      float64       // successful requests per second
	P50      time.Duration
	P90      time.Duration
	P99      time.Duration
	Max      time.Duration
	// FirstError describes the first failure, for diagnostics.
	FirstError string
}

// String formats r on one line.
func (r LoadResult) String() string {
	return fmt.Sprintf("%d req in %v (%.0f req/s), %d errors, p50 %v p90 %v p99 %v max %v",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.RPS, r.Errors, r.P50, r.P90, r.P99, r.Max)
}

// Load sends requests from opts.Workers concurrent workers until the
// duration passed or the request count was sent (or ctx ends), and
// returns throughput and latency percentiles. Bodies are read fully so
// connections are reused.
func Load(ctx context.Context, opts LoadOptions) (LoadResult, error) {
	if err := checkLoadOptions(&opts); err != nil {
		return LoadResult{}, err
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: opts.Workers, MaxConnsPerHost: 0, ForceAttemptHTTP2: true}}
	}
	for range opts.Warmup {
		_, _ = sendOne(opts)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Duration > 0 {
		runCtx, cancel = context.WithTimeout(runCtx, opts.Duration)
		defer cancel()
	}
	var (
		remaining  atomic.Int64
		wg         sync.WaitGroup
		mu         sync.Mutex
		latencies  []time.Duration
		errCount   int
		firstError string
	)
	remaining.Store(int64(opts.Requests))
	if opts.Requests == 0 {
		remaining.Store(MaxLoadRequests)
	}
	start := time.Now()
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			errs, first := 0, ""
			for runCtx.Err() == nil && remaining.Add(-1) >= 0 {
				took, err := sendOne(opts)
				if err != nil {
					if runCtx.Err() != nil {
						break // the run ended while this request was in flight
					}
					errs++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				mine = append(mine, took)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			errCount += errs
			if firstError == "" {
				firstError = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	return summarise(latencies, errCount, elapsed, firstError), nil
}

// checkLoadOptions enforces the generator's bounds.
func checkLoadOptions(opts *LoadOptions) error {
	switch {
	case opts.NewRequest == nil:
		return errors.New("load: NewRequest is required")
	case opts.Workers < 1 || opts.Workers > MaxLoadWorkers:
		return fmt.Errorf("load: Workers must be 1..%d", MaxLoadWorkers)
	case (opts.Duration > 0) == (opts.Requests > 0):
		return errors.New("load: set exactly one of Duration and Requests")
	case opts.Duration > MaxLoadDuration || opts.Requests > MaxLoadRequests:
		return fmt.Errorf("load: at most %v or %d requests", MaxLoadDuration, MaxLoadRequests)
	}
	if opts.WantStatus == 0 {
		opts.WantStatus = http.StatusOK
	}
	req, err := opts.NewRequest()
	if err != nil {
		return err
	}
	return requireLoopback(req.URL)
}

// requireLoopback refuses any target that is not this machine.
func requireLoopback(u *url.URL) error {
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("load: %s is not a loopback host; the load generator only targets this machine", host)
}

// sendOne sends one request and returns its latency (headers and body).
func sendOne(opts LoadOptions) (time.Duration, error) {
	req, err := opts.NewRequest()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := opts.Client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != opts.WantStatus {
		return 0, fmt.Errorf("status %d, want %d", resp.StatusCode, opts.WantStatus)
	}
	return took, nil
}

// summarise computes throughput and percentiles.
func summarise(lat []time.Duration, errs int, elapsed time.Duration, first string) LoadResult {
	r := LoadResult{Requests: len(lat), Errors: errs, Elapsed: elapsed, FirstError: first}
	if elapsed > 0 {
		r.RPS = float64(len(lat)) / elapsed.Seconds()
	}
	if len(lat) == 0 {
		return r
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	r.P50, r.P90, r.P99, r.Max = pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1]
	return r
}
