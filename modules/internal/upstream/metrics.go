package upstream

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
)

// upstreamDuration is API Gateway's IntegrationLatency: the time from
// sending a request to an upstream until its response headers, by module,
// upstream host (a configured value, so the label stays bounded) and
// outcome (2xx..5xx, timeout, error).
var upstreamDuration = gometrics.NewCollector(func() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "gpugate", Subsystem: "upstream", Name: "duration_seconds",
		Help:    "Time until an upstream's response headers, by module, upstream host and outcome (2xx..5xx, timeout, error).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 150},
	}, []string{"module", "upstream", "outcome"})
})

// latency observes one upstream's calls.
type latency struct {
	byOutcome map[string]prometheus.Observer
}

// outcomes of an upstream call, the metric's outcome label.
var outcomes = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "timeout", "error"}

// loadLatency registers the histogram on reg and binds its series for one
// upstream, so a call costs no label lookup.
func loadLatency(reg prometheus.Registerer, module, host string) (*latency, error) {
	h, err := upstreamDuration.Register(reg)
	if err != nil {
		return nil, err
	}
	l := &latency{byOutcome: make(map[string]prometheus.Observer, len(outcomes))}
	for _, o := range outcomes {
		l.byOutcome[o] = h.WithLabelValues(module, host, o)
	}
	return l, nil
}

// observe records a call that started at start and returns its outcome.
func (l *latency) observe(req *http.Request, start time.Time, resp *http.Response, err error) string {
	if err != nil && errors.Is(context.Cause(req.Context()), ErrTimedOut) {
		err = ErrTimedOut // the caller's timer cut the call short
	}
	outcome := outcomeOf(resp, err)
	l.byOutcome[outcome].Observe(time.Since(start).Seconds())
	return outcome
}

// outcomeOf classifies a finished call.
func outcomeOf(resp *http.Response, err error) string {
	switch {
	case err != nil && IsTimeout(err):
		return "timeout"
	case err != nil:
		return "error"
	case resp.StatusCode >= 500:
		return "5xx"
	case resp.StatusCode >= 400:
		return "4xx"
	case resp.StatusCode >= 300:
		return "3xx"
	case resp.StatusCode >= 200:
		return "2xx"
	default:
		return "1xx"
	}
}

// LatencyPlaceholder is the request placeholder holding the time (a
// time.Duration) the request's upstream calls took until their response
// headers, summed over the calls (a followed redirect, a retry): what
// route_metrics reports as IntegrationLatency, as Caddy's
// {http.reverse_proxy.upstream.latency} is for reverse_proxy.
const LatencyPlaceholder = "http.gpugate.upstream.latency"

// addLatency adds d to the request's LatencyPlaceholder.
func addLatency(req *http.Request, d time.Duration) {
	repl, ok := req.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	if v, ok := repl.Get(LatencyPlaceholder); ok {
		if prev, ok := v.(time.Duration); ok {
			d += prev
		}
	}
	repl.Set(LatencyPlaceholder, d)
}
