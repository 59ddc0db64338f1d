package usageplan

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/metering"
	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/tests/testkit"
)

const gpuKey = "gpu-key-value-0123456789abcdef"

// gpuFixture is a plan metering RunPod execution time with a daily budget
// of 10 GPU-seconds, and a handler in front of an upstream that reports
// the job each request names (?job=<id>&secs=<n>).
func gpuFixture(t *testing.T, onExhausted int) (*App, *Handler, *testkit.Clock) {
	t.Setenv("TEST_GPU_KEY", gpuKey)
	clock := testkit.NewClock(noon)
	app := newApp(t, &App{Plans: map[string]*Plan{"gpu": {
		Meters:  map[string]*MeterConfig{"gpu_seconds": {Sources: []string{metering.RunPodExecution}}},
		Budgets: []BudgetConfig{{Meter: "gpu_seconds", Limit: 10, Period: store.Day, OnExhausted: onExhausted}},
	}}, Keys: []StaticKey{{Name: "gpu", Value: "{env.TEST_GPU_KEY}", Plans: []string{"gpu"}}}}, clock)
	h := newHandler(t, app, &Handler{Plans: []string{"gpu"}})
	return app, h, clock
}

// reportJob is an upstream that reports the job of the request's query.
func reportJob(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if id := q.Get("job"); id != "" {
		secs := 0.0
		switch q.Get("secs") {
		case "6":
			secs = 6
		case "0.25":
			secs = 0.25
		}
		metering.Record(r.Context(), metering.Reading{Source: metering.RunPodExecution, Seconds: secs, Once: id})
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func TestBudgetAdmitsRefusesThenAdmitsNextDay(t *testing.T) {
	app, h, clock := gpuFixture(t, 0)
	metric := app.metrics.meteredUnits.WithLabelValues("gpu", "gpu_seconds")
	before := counterValue(metric)

	res := do(t, h, get("/status?job=j1&secs=6", gpuKey), reportJob)
	if res.status != 200 || !strings.Contains(res.header.Get("Ratelimit"), `"budget_gpu_seconds";r=10;t=43200`) {
		t.Fatalf("first call: %d RateLimit %q", res.status, res.header.Get("Ratelimit"))
	}
	if got, _ := res.repl.GetString(MeteredPlaceholderPrefix + "gpu_seconds"); got != "6" {
		t.Fatalf("metered placeholder %q, want 6", got)
	}
	if p := res.header.Get("Ratelimit-Policy"); !strings.Contains(p, `"budget_gpu_seconds";q=10;w=86400`) {
		t.Fatalf("RateLimit-Policy %q", p)
	}
	// The same job polled again is not charged again.
	for range 3 {
		res = do(t, h, get("/status?job=j1&secs=6", gpuKey), reportJob)
		if got, _ := res.repl.GetString(MeteredPlaceholderPrefix + "gpu_seconds"); res.status != 200 || got != "" {
			t.Fatalf("a repeated poll: %d, charged %q", res.status, got)
		}
	}
	if !strings.Contains(res.header.Get("Ratelimit"), `"budget_gpu_seconds";r=4;`) {
		t.Fatalf("after 6 of 10: RateLimit %q", res.header.Get("Ratelimit"))
	}
	// A second job overshoots the budget (the call was in flight).
	if res = do(t, h, get("/status?job=j2&secs=6", gpuKey), reportJob); res.status != 200 {
		t.Fatalf("second job: %d", res.status)
	}
	if d := counterValue(metric) - before; d != 12 {
		t.Fatalf("metered units metric grew by %v, want 12", d)
	}
	res = do(t, h, get("/run", gpuKey), reportJob)
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, `"Limit Exceeded"`) ||
		res.header.Get("Retry-After") != "43200" || res.header.Get("Ratelimit") != `"budget_gpu_seconds";r=0;t=43200` ||
		res.upstream != nil {
		t.Fatalf("exhausted: %d %s Retry-After %q RateLimit %q", res.status, res.body, res.header.Get("Retry-After"), res.header.Get("Ratelimit"))
	}
	clock.Advance(12 * time.Hour) // midnight UTC: the next day's budget
	if res = do(t, h, get("/run", gpuKey), reportJob); res.status != 200 || !strings.Contains(res.header.Get("Ratelimit"), `"budget_gpu_seconds";r=10;`) {
		t.Fatalf("next day: %d %q", res.status, res.header.Get("Ratelimit"))
	}
	days, err := app.UsageOf(context.Background(), "gpu", "static-gpu", noon, noon)
	if err != nil {
		t.Fatal(err)
	}
	if len(days.Meters["gpu_seconds"]["static-gpu"]) != 1 || days.Meters["gpu_seconds"]["static-gpu"][0][0] != 12 {
		t.Fatalf("meter usage: %+v", days.Meters)
	}
}

func TestBudgetOnExhausted402(t *testing.T) {
	_, h, _ := gpuFixture(t, http.StatusPaymentRequired)
	do(t, h, get("/status?job=j1&secs=6", gpuKey), reportJob)
	do(t, h, get("/status?job=j2&secs=6", gpuKey), reportJob)
	res := do(t, h, get("/run", gpuKey), reportJob)
	if res.status != http.StatusPaymentRequired || !strings.Contains(res.body, `"Payment Required"`) || res.header.Get("Retry-After") == "" {
		t.Fatalf("on_exhausted 402: %d %s %v", res.status, res.body, res.header)
	}
}

// TestFailedResponseNotMetered: with refund_on 5xx, what a failed response
// reported is not charged.
func TestFailedResponseNotMetered(t *testing.T) {
	_, h, _ := gpuFixture(t, 0)
	h.RefundOn = []string{"5xx"}
	h.refund5xx = true
	fail := func(w http.ResponseWriter, r *http.Request) error {
		metering.Record(r.Context(), metering.Reading{Source: metering.RunPodExecution, Seconds: 6, Once: "jf"})
		w.WriteHeader(http.StatusBadGateway)
		return nil
	}
	res := do(t, h, get("/status", gpuKey), fail)
	if got, _ := res.repl.GetString(MeteredPlaceholderPrefix + "gpu_seconds"); got != "" {
		t.Fatalf("a 502 was metered: %q", got)
	}
}

// TestHeaderSourceAndPrices meters a number of seconds the app returns in
// a header, priced per route.
func TestHeaderSourceAndPrices(t *testing.T) {
	t.Setenv("TEST_GPU_KEY", gpuKey)
	clock := testkit.NewClock(noon)
	app := newApp(t, &App{Plans: map[string]*Plan{"gpu": {
		Meters: map[string]*MeterConfig{
			"usd": {Sources: []string{"header:X-Gpu-Seconds"}, Unit: UnitUSD, Prices: []Price{
				{USDPerHour: 7.2, Path: "/big/*"}, {USDPerHour: 3.6},
			}},
			"wall": {Sources: []string{metering.ModalWall}},
		},
	}}, Keys: []StaticKey{{Name: "gpu", Value: "{env.TEST_GPU_KEY}", Plans: []string{"gpu"}}}}, clock)
	h := newHandler(t, app, &Handler{Plans: []string{"gpu"}})
	app2 := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		metering.Record(r.Context(), metering.Reading{Source: metering.ModalWall, Seconds: 1.5})
		w.Header().Set("X-Gpu-Seconds", "10")
		w.WriteHeader(http.StatusOK)
		return nil
	})
	res := do(t, h, get("/big/generate", gpuKey), app2)
	usd, _ := res.repl.GetString(MeteredPlaceholderPrefix + "usd")
	wall, _ := res.repl.GetString(MeteredPlaceholderPrefix + "wall")
	if usd != "0.02" || wall != "1.5" {
		t.Fatalf("/big: usd %q wall %q, want 0.02 (10 s at 7.20/h) and 1.5", usd, wall)
	}
	res = do(t, h, get("/small", gpuKey), app2)
	if usd, _ := res.repl.GetString(MeteredPlaceholderPrefix + "usd"); usd != "0.01" {
		t.Fatalf("/small: usd %q, want 0.01 (10 s at 3.60/h)", usd)
	}
}

func TestExpiredKeyRefused(t *testing.T) {
	clock := testkit.NewClock(noon)
	app := newApp(t, &App{Plans: basicPlans()}, clock)
	h := newHandler(t, app, &Handler{Plans: []string{"basic"}})
	kv, err := app.CreateKey(context.Background(), NewKey{Name: "temp", Plans: []string{"basic"}, Expires: noon.Add(time.Hour).Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	if res := do(t, h, get("/", kv.Value), nil); res.status != 200 {
		t.Fatalf("before expiry: %d", res.status)
	}
	clock.Advance(time.Hour)
	if res := do(t, h, get("/", kv.Value), nil); res.status != http.StatusForbidden || !strings.Contains(res.body, "Forbidden") {
		t.Fatalf("after expiry: %d %s", res.status, res.body)
	}
}

// TestPriceRowsByGPUTypeAndPath: the first row whose GPU types and path
// match a reading prices it. A GPU type row prices a pod per GPU and hour;
// jobs (which carry no GPU type) skip it and take their path's row; a pod
// of a type no row names, on a path no row names, falls back to the pod's
// own cost, and a job there is not charged.
func TestPriceRowsByGPUTypeAndPath(t *testing.T) {
	t.Setenv("TEST_GPU_KEY", gpuKey)
	app := newApp(t, &App{Plans: map[string]*Plan{"gpu": {Meters: map[string]*MeterConfig{
		"usd": {Sources: []string{metering.RunPodPod, metering.RunPodExecution}, Unit: UnitUSD, Prices: []Price{
			{USDPerHour: 2, GPUTypes: []string{"NVIDIA A100 80GB PCIe", "NVIDIA GeForce RTX 4090"}},
			{USDPerHour: 3.6, Path: "/jobs/video/*"},
			{USDPerHour: 7.2, GPUTypes: []string{"NVIDIA H100 80GB HBM3"}, Path: "/pods/*"},
		}},
	}}}, Keys: []StaticKey{{Name: "gpu", Value: "{env.TEST_GPU_KEY}", Plans: []string{"gpu"}}}}, testkit.NewClock(noon))
	h := newHandler(t, app, &Handler{Plans: []string{"gpu"}})
	cases := []struct {
		what, path string
		reading    metering.Reading
		want       string // the units charged, "" for none
	}{
		{"a 2 x 4090 pod for 30 min", "/pods/p1/stop",
			metering.Reading{Source: metering.RunPodPod, Seconds: 1800, GPUType: "NVIDIA GeForce RTX 4090", GPUs: 2, USDPerHour: 1.38, Once: "p1"}, "2"},
		{"an A100 pod for 15 min on a job path", "/jobs/video/x",
			metering.Reading{Source: metering.RunPodPod, Seconds: 900, GPUType: "NVIDIA A100 80GB PCIe", GPUs: 1, USDPerHour: 1.64, Once: "p2"}, "0.5"},
		{"a job of 10 s on the video endpoint", "/jobs/video/status/j1",
			metering.Reading{Source: metering.RunPodExecution, Seconds: 10, Once: "j1"}, "0.01"},
		{"an H100 pod for 1 h on a pods path", "/pods/p3",
			metering.Reading{Source: metering.RunPodPod, Seconds: 3600, GPUType: "NVIDIA H100 80GB HBM3", GPUs: 1, USDPerHour: 2.99, Once: "p3"}, "7.2"},
		{"an H100 pod for 1 h elsewhere: its own cost", "/other",
			metering.Reading{Source: metering.RunPodPod, Seconds: 3600, GPUType: "NVIDIA H100 80GB HBM3", GPUs: 1, USDPerHour: 2.99, Once: "p4"}, "2.99"},
		{"a job of 10 s on another endpoint: no row", "/jobs/llm/status/j2",
			metering.Reading{Source: metering.RunPodExecution, Seconds: 10, Once: "j2"}, ""},
	}
	for _, c := range cases {
		res := do(t, h, get(c.path, gpuKey), func(w http.ResponseWriter, r *http.Request) error {
			metering.Record(r.Context(), c.reading)
			w.WriteHeader(http.StatusOK)
			return nil
		})
		if got, _ := res.repl.GetString(MeteredPlaceholderPrefix + "usd"); res.status != 200 || got != c.want {
			t.Errorf("%s: %d, charged %q USD, want %q", c.what, res.status, got, c.want)
		}
	}
	days, err := app.UsageOf(context.Background(), "gpu", "static-gpu", noon, noon)
	if err != nil {
		t.Fatal(err)
	}
	if got := days.Meters["usd"]["static-gpu"]; len(got) != 1 || got[0][0] != 12.7 {
		t.Fatalf("get-usage usd: %v, want 12.7 today", got)
	}
}
