package usageplan_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/metering"
	"github.com/gpugate/gpugate/modules/runpod"
	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
	"github.com/gpugate/gpugate/modules/usageplan"
	"github.com/gpugate/gpugate/tests/testkit"
)

// The runpod_pod meter end to end inside one process: the usage_plan
// handler in front of runpod pods (with a cap, so the gateway records its
// pods in the store) in front of the simulator, all on one injected clock.

const (
	podSimKey   = "pod-meter-sim-key"
	podPlanKey  = "pod-meter-plan-key-0123456789"
	podOwner    = "alice"
	podKeyID    = "static-alice"
	rtx4090     = "NVIDIA GeForce RTX 4090" // 0.69 USD per GPU and hour in the simulator
	rtxA6000    = "NVIDIA RTX A6000"
	podMeterDay = "2026-11-22"
)

// podMeterStack is the chain usage_plan -> runpod pods -> simulator.
type podMeterStack struct {
	t     *testing.T
	clock *testkit.Clock
	sim   *runpodsim.Sim
	app   *usageplan.App
	usage *usageplan.Handler
	pods  *runpod.Handler
}

// startPodMeter provisions the chain with plan gpu's meters.
func startPodMeter(t *testing.T, meters map[string]*usageplan.MeterConfig) *podMeterStack {
	t.Helper()
	t.Setenv("POD_METER_PLAN_KEY", podPlanKey)
	t.Setenv("POD_METER_SIM_KEY", podSimKey)
	clock := testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	// No provisioning delays: a pod runs (and costs) from its creation.
	sim := runpodsim.Start(t, runpodsim.Options{APIKey: podSimKey, Now: clock.Now})
	appJSON, err := json.Marshal(&usageplan.App{
		Store: "memory://pod-meter-" + strings.ReplaceAll(t.Name(), "/", "-"),
		Plans: map[string]*usageplan.Plan{"gpu": {Meters: meters}},
		Keys:  []usageplan.StaticKey{{Name: podOwner, Value: "{env.POD_METER_PLAN_KEY}", Plans: []string{"gpu"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// runpod finds the store through the usage_plans app of its context.
	base, err := caddy.ProvisionContext(&caddy.Config{Admin: &caddy.AdminConfig{Disabled: true},
		AppsRaw: caddy.ModuleMap{usageplan.AppName: appJSON}})
	if err != nil {
		t.Fatalf("caddy context: %v", err)
	}
	ctx, cancel := caddy.NewContext(base)
	t.Cleanup(cancel)
	mod, err := ctx.App(usageplan.AppName)
	if err != nil {
		t.Fatal(err)
	}
	app := mod.(*usageplan.App)
	t.Cleanup(func() { _ = app.Cleanup() })
	usageplan.SetClock(app, clock.Now)
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	usage := &usageplan.Handler{Plans: []string{"gpu"}}
	if err := usageplan.ProvisionHandler(ctx, usage, app); err != nil {
		t.Fatal(err)
	}
	pods := &runpod.Handler{Mode: runpod.ModePods, APIKey: "{env.POD_METER_SIM_KEY}", BaseURL: sim.ManagementURL,
		OwnerClaim: "sub", OwnerTag: runpod.OwnerTagEnv, MaxPods: 10}
	if err := pods.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pods.Cleanup() })
	return &podMeterStack{t: t, clock: clock, sim: sim, app: app, usage: usage, pods: pods}
}

// podReply is what the client got, plus what the access log would show
// ({http.usage_plan.metered.<meter>}).
type podReply struct {
	code    int
	body    string
	metered map[string]string
}

// call sends one request as alice with her plan key through the chain.
func (s *podMeterStack) call(method, path, body string) podReply {
	s.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("X-Api-Key", podPlanKey)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	repl := caddy.NewReplacer()
	r = caddyhttp.PrepareRequest(r, repl, w, &caddyhttp.Server{})
	repl.Set("http.auth.user.id", podOwner)
	end := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	err := s.usage.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return s.pods.ServeHTTP(w, r, end)
	}))
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	out := podReply{code: w.Code, body: w.Body.String(), metered: map[string]string{}}
	for m := range s.app.Plans["gpu"].Meters {
		if v, ok := repl.GetString(usageplan.MeteredPlaceholderPrefix + m); ok {
			out.metered[m] = v
		}
	}
	return out
}

// create makes a pod of count GPUs of gpuType and returns its id.
func (s *podMeterStack) create(gpuType string, count int) string {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"name": "trainer", "image": "runpod/pytorch:2.4.0", "gpu_type": gpuType, "gpu_count": count})
	res := s.call("POST", "/pods", string(body))
	var created struct {
		Pod struct {
			ID     string
			Status string
		}
	}
	if res.code != 200 || json.Unmarshal([]byte(res.body), &created) != nil || created.Pod.Status != "RUNNING" {
		s.t.Fatalf("create = %d %s", res.code, res.body)
	}
	if len(res.metered) != 0 {
		s.t.Fatalf("a create was charged %v", res.metered)
	}
	return created.Pod.ID
}

// expect checks that a request got code and was charged exactly charged
// (meter -> units as the access log shows them; empty: nothing).
func (s *podMeterStack) expect(res podReply, what string, code int, charged map[string]string) {
	s.t.Helper()
	if res.code != code {
		s.t.Fatalf("%s = %d %s, want %d", what, res.code, res.body, code)
	}
	if len(res.metered) != len(charged) {
		s.t.Fatalf("%s charged %v, want %v", what, res.metered, charged)
	}
	for m, v := range charged {
		if res.metered[m] != v {
			s.t.Fatalf("%s charged %v, want %v", what, res.metered, charged)
		}
	}
}

// used is get-usage's used units of meter for alice today.
func (s *podMeterStack) used(meter string) float64 {
	s.t.Helper()
	day, _ := time.Parse(time.DateOnly, podMeterDay)
	u, err := s.app.UsageOf(context.Background(), "gpu", podKeyID, day, day)
	if err != nil {
		s.t.Fatal(err)
	}
	days := u.Meters[meter][podKeyID]
	if len(days) != 1 {
		s.t.Fatalf("get-usage meters: %+v", u.Meters)
	}
	return days[0][0]
}

// onSim applies action to pod id directly on RunPod (its console), not
// through the gateway.
func (s *podMeterStack) onSim(id, action string) {
	s.t.Helper()
	method, path, body := http.MethodPost, "/pods/"+id+"/action", `{"action":"`+action+`"}`
	if action == "terminate" {
		method, path, body = http.MethodDelete, "/pods/"+id, ""
	}
	req, _ := http.NewRequest(method, s.sim.ManagementURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+podSimKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		s.t.Fatalf("%s on RunPod = %d", action, resp.StatusCode)
	}
}

var podMeters = map[string]*usageplan.MeterConfig{
	"pod_usd":         {Sources: []string{metering.RunPodPod}, Unit: usageplan.UnitUSD},
	"pod_gpu_seconds": {Sources: []string{metering.RunPodPod}},
}

// TestPodMeterChargesStopAndTerminateOnce: a pod stopped through the
// gateway is charged its cost (USD per hour) times its running time, and
// its GPU-seconds, once; a second stop, the delete after the stop and the
// time it stood stopped cost nothing; a restarted pod is charged its new
// run; a running pod deleted through the gateway is charged up to then.
func TestPodMeterChargesStopAndTerminateOnce(t *testing.T) {
	s := startPodMeter(t, podMeters)
	id := s.create(rtx4090, 2) // 1.38 USD per hour
	s.clock.Advance(30 * time.Minute)
	s.expect(s.call("GET", "/pods/"+id, ""), "get of the running pod", 200, nil)
	s.expect(s.call("POST", "/pods/"+id+"/stop", ""), "stop", 200,
		map[string]string{"pod_usd": "0.69", "pod_gpu_seconds": "3600"})
	s.expect(s.call("POST", "/pods/"+id+"/stop", ""), "second stop", 409, nil)
	s.clock.Advance(time.Hour) // stopped: costs nothing
	s.expect(s.call("GET", "/pods", ""), "listing", 200, nil)
	if got := s.used("pod_usd"); got != 0.69 {
		t.Fatalf("get-usage pod_usd = %v, want 0.69", got)
	}

	s.expect(s.call("POST", "/pods/"+id+"/start", ""), "start", 200, nil)
	s.clock.Advance(10 * time.Minute)
	s.expect(s.call("POST", "/pods/"+id+"/stop", ""), "stop after the restart", 200,
		map[string]string{"pod_usd": "0.23", "pod_gpu_seconds": "1200"})
	s.expect(s.call("DELETE", "/pods/"+id, ""), "delete after the stop", 204, nil)

	other := s.create(rtx4090, 1)
	s.clock.Advance(6 * time.Minute)
	s.expect(s.call("DELETE", "/pods/"+other, ""), "delete of a running pod", 204,
		map[string]string{"pod_usd": "0.069", "pod_gpu_seconds": "360"})
	s.expect(s.call("DELETE", "/pods/"+other, ""), "second delete", 404, nil)

	if got, want := s.used("pod_usd"), 0.989; got != want { // 0.69 + 0.23 + 0.069
		t.Fatalf("get-usage pod_usd = %v, want %v", got, want)
	}
	if got := s.used("pod_gpu_seconds"); got != 3600+1200+360 {
		t.Fatalf("get-usage pod_gpu_seconds = %v, want 5160", got)
	}
}

// TestPodStoppedElsewhereChargedAtNextListing: pods stopped or terminated
// on RunPod directly are charged at the owner's next GET /pods, up to that
// listing (the documented overestimate), exactly once: later listings,
// the gateway's stop and delete of the stopped pod charge nothing more.
func TestPodStoppedElsewhereChargedAtNextListing(t *testing.T) {
	s := startPodMeter(t, podMeters)
	stopped := s.create(rtx4090, 1)
	gone := s.create(rtx4090, 2)
	kept := s.create(rtx4090, 1)
	s.clock.Advance(20 * time.Minute)
	s.onSim(stopped, "stop")
	s.onSim(gone, "terminate")
	s.clock.Advance(10 * time.Minute) // noticed 30 minutes after the creates
	// 0.5 h x (0.69 + 1.38) USD, 1800 s x 3 GPUs; the running pod is not charged.
	s.expect(s.call("GET", "/pods", ""), "the listing that notices", 200,
		map[string]string{"pod_usd": "1.035", "pod_gpu_seconds": "5400"})
	s.expect(s.call("GET", "/pods", ""), "the next listing", 200, nil)
	s.clock.Advance(time.Hour)
	s.expect(s.call("GET", "/pods", ""), "a listing an hour later", 200, nil)
	s.expect(s.call("POST", "/pods/"+stopped+"/stop", ""), "the gateway's stop of the stopped pod", 409, nil)
	s.expect(s.call("DELETE", "/pods/"+stopped, ""), "the gateway's delete of the stopped pod", 204, nil)
	if got := s.used("pod_usd"); got != 1.035 {
		t.Fatalf("get-usage pod_usd = %v, want 1.035", got)
	}
	// The pod still running was never charged; its stop charges its 1.5 h.
	s.expect(s.call("POST", "/pods/"+kept+"/stop", ""), "stop of the kept pod", 200,
		map[string]string{"pod_usd": "1.035", "pod_gpu_seconds": "5400"})
}

// TestPodPricedByGPUType: a price row naming GPU types prices those pods
// per GPU and hour, whether the gateway stops the pod or a listing finds
// it terminated elsewhere; a pod of another type falls through to the next
// row (none here: the pod's own cost).
func TestPodPricedByGPUType(t *testing.T) {
	s := startPodMeter(t, map[string]*usageplan.MeterConfig{"usd": {Sources: []string{metering.RunPodPod}, Unit: usageplan.UnitUSD,
		Prices: []usageplan.Price{{USDPerHour: 2, GPUTypes: []string{"NVIDIA L40S", rtx4090}}}}})
	priced := s.create(rtx4090, 2)
	unpriced := s.create(rtxA6000, 1) // 0.79 USD per hour in the simulator
	elsewhere := s.create(rtx4090, 1)
	s.clock.Advance(30 * time.Minute)
	s.expect(s.call("POST", "/pods/"+priced+"/stop", ""), "stop of the 4090 pod", 200, map[string]string{"usd": "2"})
	s.expect(s.call("DELETE", "/pods/"+unpriced, ""), "delete of the A6000 pod", 204, map[string]string{"usd": "0.395"})
	s.onSim(elsewhere, "terminate")
	s.expect(s.call("GET", "/pods", ""), "the listing that finds the 4090 pod gone", 200, map[string]string{"usd": "1"})
	if got := s.used("usd"); got != 3.395 {
		t.Fatalf("get-usage usd = %v, want 3.395", got)
	}
}

// TestPodStoppedElsewhereNoticedByAnAction: a pod stopped on RunPod and
// then deleted, or started again, through the gateway before any listing
// is charged its run up to that request (the request noticed the stop, as
// a listing does), once.
func TestPodStoppedElsewhereNoticedByAnAction(t *testing.T) {
	s := startPodMeter(t, podMeters)
	deleted := s.create(rtx4090, 1)
	restarted := s.create(rtx4090, 2)
	s.clock.Advance(20 * time.Minute)
	s.onSim(deleted, "stop")
	s.onSim(restarted, "stop")
	s.clock.Advance(10 * time.Minute)
	s.expect(s.call("DELETE", "/pods/"+deleted, ""), "delete of a pod stopped on RunPod", 204,
		map[string]string{"pod_usd": "0.345", "pod_gpu_seconds": "1800"})
	s.expect(s.call("POST", "/pods/"+restarted+"/start", ""), "start of a pod stopped on RunPod", 200,
		map[string]string{"pod_usd": "0.69", "pod_gpu_seconds": "3600"})
	s.clock.Advance(15 * time.Minute)
	s.expect(s.call("GET", "/pods", ""), "the next listing", 200, nil)
	s.expect(s.call("POST", "/pods/"+restarted+"/stop", ""), "stop of the started pod", 200,
		map[string]string{"pod_usd": "0.345", "pod_gpu_seconds": "1800"})
	if got := s.used("pod_usd"); got != 1.38 {
		t.Fatalf("get-usage pod_usd = %v, want 1.38", got)
	}
}

// TestPodRunsWithinOneSecondChargedEach: two runs of a pod that start in
// the same second are two charges (the once-mark is per start, not per
// second).
func TestPodRunsWithinOneSecondChargedEach(t *testing.T) {
	s := startPodMeter(t, podMeters)
	id := s.create(rtx4090, 1)
	s.clock.Advance(100 * time.Millisecond)
	s.expect(s.call("POST", "/pods/"+id+"/stop", ""), "first stop", 200, map[string]string{"pod_gpu_seconds": "0.1", "pod_usd": "0.000019"})
	s.clock.Advance(100 * time.Millisecond)
	s.expect(s.call("POST", "/pods/"+id+"/start", ""), "start", 200, nil)
	s.clock.Advance(400 * time.Millisecond)
	s.expect(s.call("POST", "/pods/"+id+"/stop", ""), "second stop", 200, map[string]string{"pod_gpu_seconds": "0.4", "pod_usd": "0.000077"})
}
