package runpod

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

// l40s is the priciest GPU type runpod.Caddyfile allows by default: 0.86
// USD per GPU and hour in the simulator.
const l40s = "NVIDIA L40S"

// meteredPodLog matches the access log's metered_pod_usd field when a
// request was charged.
var meteredPodLog = regexp.MustCompile(`"metered_pod_usd":"([0-9.e-]+)"`)

// podMeterGateway is runpod.Caddyfile with metering on in front of a
// simulator whose pods run at once, and alice's key of the gpu plan.
type podMeterGateway struct {
	t     *testing.T
	sim   *runpodsim.Sim
	gw    *testkit.Gateway
	keyID string
	tok   string
}

func startPodMeterGateway(t *testing.T, env map[string]string) *podMeterGateway {
	t.Helper()
	sim := runpodsim.Start(t, runpodsim.Options{APIKey: runpodKey, Endpoints: []string{endpointID}})
	env["RUNPOD_METERING"] = "on"
	gw := startGateway(t, sim, env)
	keyID, tok := meteredToken(t, gw, "alice")
	return &podMeterGateway{t: t, sim: sim, gw: gw, keyID: keyID, tok: tok}
}

func (p *podMeterGateway) call(method, path, body string) testkit.Reply {
	p.t.Helper()
	return callAs(p.t, p.gw, p.tok, method, path, body)
}

// create makes a pod of gpus L40S GPUs; it returns its id.
func (p *podMeterGateway) create(gpus int) string {
	p.t.Helper()
	res := p.call("POST", "/pods", `{"name":"trainer","image":"runpod/pytorch:2.4.0","gpu_type":"`+l40s+`","gpu_count":`+strconv.Itoa(gpus)+`}`)
	res.Want(p.t, 200, `"RUNNING"`)
	var created struct{ Pod struct{ ID string } }
	res.JSON(p.t, &created)
	return created.Pod.ID
}

// runFor polls RunPod's view of pod id (through the gateway) until it has
// been running d.
func (p *podMeterGateway) runFor(id string, d time.Duration) {
	p.t.Helper()
	testkit.Eventually(p.t, 10*time.Second, "pod "+id+" running "+d.String(), func() bool {
		var pod struct{ Runtime *struct{ Uptime int } }
		res := p.call("GET", "/pods/"+id, "")
		res.Want(p.t, 200)
		res.JSON(p.t, &pod)
		return pod.Runtime != nil && time.Duration(pod.Runtime.Uptime)*time.Second >= d
	})
}

// used is get-usage's pod_usd of alice today, from the admin API.
func (p *podMeterGateway) used() float64 {
	p.t.Helper()
	var usage struct {
		Meters map[string]map[string][][2]float64 `json:"meters"`
	}
	if code := adminJSON(p.t, p.gw, "GET", "/usage-plans/usage?plan=gpu&key="+p.keyID, "", &usage); code != 200 {
		p.t.Fatalf("get-usage = %d", code)
	}
	days := usage.Meters["pod_usd"][p.keyID]
	if len(days) == 0 {
		return 0
	}
	return days[len(days)-1][0]
}

// charges are the metered_pod_usd values of the access log.
func (p *podMeterGateway) charges() []float64 {
	var out []float64
	for _, m := range meteredPodLog.FindAllStringSubmatch(p.gw.Logs(), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		out = append(out, v)
	}
	return out
}

// waitCharges waits until the access log shows n charges.
func (p *podMeterGateway) waitCharges(n int) []float64 {
	p.t.Helper()
	testkit.Eventually(p.t, 5*time.Second, strconv.Itoa(n)+" metered_pod_usd log lines", func() bool { return len(p.charges()) >= n })
	got := p.charges()
	if len(got) != n {
		p.t.Fatalf("metered_pod_usd in the access log: %v, want %d charges", got, n)
	}
	return got
}

// within checks that usd is the cost of a pod of usdPerHour running
// between the shortest and longest time the test could have seen (one
// micro-dollar of rounding either way).
func within(t *testing.T, what string, usd, usdPerHour float64, shortest, longest time.Duration) {
	t.Helper()
	lo, hi := usdPerHour*shortest.Hours()-1e-6, usdPerHour*longest.Hours()+1e-6
	if usd < lo || usd > hi {
		t.Fatalf("%s charged %v USD, want %v..%v (%v USD/h for %v..%v)", what, usd, lo, hi, usdPerHour, shortest, longest)
	}
}

// TestPodChargedOnceThroughTheGateway: a pod the gateway created and stops
// is charged its cost (USD per hour) times its running time to the
// owner's key once: get-usage, the metric and the one access log line
// agree, and a second stop or the delete after the stop charge nothing.
func TestPodChargedOnceThroughTheGateway(t *testing.T) {
	t.Parallel()
	p := startPodMeterGateway(t, map[string]string{})
	sent := time.Now()
	id := p.create(4) // 3.44 USD per hour
	created := time.Now()
	p.runFor(id, time.Second)
	stopping := time.Now()
	p.call("POST", "/pods/"+id+"/stop", "").Want(t, 200, `"EXITED"`)
	stopped := time.Now()

	charged := p.waitCharges(1)[0]
	within(t, "the stop", charged, 3.44, stopping.Sub(created), stopped.Sub(sent))
	if used := p.used(); used != charged {
		t.Fatalf("get-usage pod_usd = %v, the access log says %v", used, charged)
	}
	if m := p.gw.ScrapeMetrics().Sum("gpugate_usage_plan_metered_units_total", `plan="gpu"`, `meter="pod_usd"`); m != charged {
		t.Fatalf("gpugate_usage_plan_metered_units_total{meter=pod_usd} = %v, want %v", m, charged)
	}

	p.call("POST", "/pods/"+id+"/stop", "").Want(t, 409)
	p.call("GET", "/pods", "").Want(t, 200, id)
	p.call("DELETE", "/pods/"+id, "").Want(t, 204)
	p.call("GET", "/pods", "").Want(t, 200, "[]")
	if used := p.used(); used != charged {
		t.Fatalf("get-usage pod_usd after a second stop and the delete = %v, want %v", used, charged)
	}
	if got := p.charges(); len(got) != 1 {
		t.Fatalf("metered_pod_usd in the access log: %v, want one charge", got)
	}
}

// TestPodStoppedOnRunPodChargedAtListing: a pod the gateway created but
// that is stopped on RunPod directly is charged at the owner's next
// GET /pods, up to that listing, once; a pod terminated on RunPod likewise.
func TestPodStoppedOnRunPodChargedAtListing(t *testing.T) {
	t.Parallel()
	p := startPodMeterGateway(t, map[string]string{})
	direct := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, p.sim.ManagementURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+runpodKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s on RunPod = %d", method, path, resp.StatusCode)
		}
	}
	for i, c := range []struct{ what, method, path, body string }{
		{"stopped on RunPod", "POST", "/pods/%s/action", `{"action":"stop"}`},
		{"terminated on RunPod", "DELETE", "/pods/%s", ""},
	} {
		before := p.used()
		sent := time.Now()
		id := p.create(2) // 1.72 USD per hour
		created := time.Now()
		p.runFor(id, time.Second)
		direct(c.method, strings.Replace(c.path, "%s", id, 1), c.body)
		listing := time.Now()
		p.call("GET", "/pods", "").Want(t, 200)
		listed := time.Now()

		charged := p.waitCharges(i + 1)[i]
		within(t, c.what, charged, 1.72, listing.Sub(created), listed.Sub(sent))
		p.call("GET", "/pods", "").Want(t, 200)
		p.call("GET", "/pods", "").Want(t, 200)
		if used := p.used(); used-before-charged > 1e-9 || charged-(used-before) > 1e-9 {
			t.Fatalf("%s: get-usage grew by %v, the listing charged %v", c.what, used-before, charged)
		}
	}
	if got := p.charges(); len(got) != 2 {
		t.Fatalf("metered_pod_usd in the access log: %v, want one charge per pod", got)
	}
}

// TestPodCapUSDPerHour: max_usd_per_hour counts the running pods' price;
// a create past it is a 403 JSON naming the cap that never reaches RunPod,
// and stopping a pod frees its price.
func TestPodCapUSDPerHour(t *testing.T) {
	t.Parallel()
	p := startPodMeterGateway(t, map[string]string{"RUNPOD_MAX_USD_PER_HOUR": "5", "RUNPOD_MAX_GPUS": "16"})
	first := p.create(4) // 3.44 of 5 USD per hour
	posts := len(p.sim.RequestsTo("POST", "/v2/pods"))
	res := p.call("POST", "/pods", `{"name":"more","image":"runpod/pytorch:2.4.0","gpu_type":"`+l40s+`","gpu_count":2}`)
	res.Want(t, 403, `{"message":"Pod cap max_usd_per_hour reached: at most 5.00 USD per hour of running pods at once per user"}`)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("403 Content-Type %q", ct)
	}
	if n := len(p.sim.RequestsTo("POST", "/v2/pods")); n != posts {
		t.Fatal("a create past max_usd_per_hour reached RunPod")
	}
	p.create(1) // 4.30 of 5
	p.call("POST", "/pods/"+first+"/stop", "").Want(t, 200)
	p.create(2) // 0.86 + 1.72
	// Starting the stopped pod again would make 6.02 USD per hour.
	actions := len(p.sim.RequestsTo("POST", "/v2/pods/"+first+"/action"))
	p.call("POST", "/pods/"+first+"/start", "").Want(t, 403, "Pod cap max_usd_per_hour reached")
	if n := len(p.sim.RequestsTo("POST", "/v2/pods/"+first+"/action")); n != actions {
		t.Fatal("a start past max_usd_per_hour reached RunPod")
	}
}

// TestPodBudgetRefusesCreates: once the pods' charges use up the key's
// monthly pod_usd budget, creating or starting a pod is refused with 429
// "Limit Exceeded", Retry-After at the month's end and the budget's
// RateLimit item, without a RunPod call; listing and deleting still work.
func TestPodBudgetRefusesCreates(t *testing.T) {
	t.Parallel()
	p := startPodMeterGateway(t, map[string]string{"RUNPOD_POD_USD_PER_MONTH": "0.0005"})
	id := p.create(4)
	p.runFor(id, time.Second) // 3.44 USD per hour: about 0.001 USD
	p.call("POST", "/pods/"+id+"/stop", "").Want(t, 200)
	if charged := p.waitCharges(1)[0]; charged < 0.0005 {
		t.Fatalf("the stop charged %v USD, want more than the budget", charged)
	}
	posts := len(p.sim.RequestsTo("POST", "/v2/pods"))
	actions := len(p.sim.RequestsTo("POST", "/v2/pods/"+id+"/action"))
	for _, c := range []struct{ what, path, body string }{
		{"create", "/pods", `{"name":"more","image":"runpod/pytorch:2.4.0","gpu_type":"` + l40s + `"}`},
		{"start", "/pods/" + id + "/start", ""},
	} {
		res := p.call("POST", c.path, c.body)
		now := time.Now().UTC()
		res.Want(t, 429, `{"message":"Limit Exceeded"}`)
		monthEnd := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		want := int(monthEnd.Sub(now) / time.Second)
		if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); ra < want-5 || ra > want+5 {
			t.Fatalf("%s: Retry-After %q, want about %d (the UTC month's end)", c.what, res.Header.Get("Retry-After"), want)
		}
		if rl := res.Header.Get("Ratelimit"); !strings.HasPrefix(rl, `"budget_pod_usd";r=0;t=`) {
			t.Fatalf("%s: RateLimit %q", c.what, rl)
		}
	}
	if len(p.sim.RequestsTo("POST", "/v2/pods")) != posts || len(p.sim.RequestsTo("POST", "/v2/pods/"+id+"/action")) != actions {
		t.Fatal("a create or start refused by the budget reached RunPod")
	}
	p.call("GET", "/pods", "").Want(t, 200, id)
	p.call("DELETE", "/pods/"+id, "").Want(t, 204)
}

// TestPodChargedOnceAcrossInstances: two instances on one Redis list
// alice's pods at once after RunPod stopped one: it is charged once, in
// one access log line of one of them, and get-usage on either shows it.
func TestPodChargedOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	sim := runpodsim.Start(t, runpodsim.Options{APIKey: runpodKey, Endpoints: []string{endpointID}})
	env := map[string]string{"GPUGATE_USAGE_STORE": r.URL(0), "RUNPOD_METERING": "on"}
	gws := []*testkit.Gateway{startGateway(t, sim, env), startGateway(t, sim, env)}
	keyID, tok := meteredToken(t, gws[0], "alice")
	p := &podMeterGateway{t: t, sim: sim, gw: gws[0], keyID: keyID, tok: tok}
	id := p.create(1)
	p.runFor(id, time.Second)
	req, _ := http.NewRequest("POST", sim.ManagementURL+"/pods/"+id+"/action", strings.NewReader(`{"action":"stop"}`))
	req.Header.Set("Authorization", "Bearer "+runpodKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stop on RunPod: %v %v", resp, err)
	}
	_ = resp.Body.Close()

	// Six listings at once, three on each instance (plain clients: no
	// t.Fatal outside the test's goroutine).
	done := make(chan error)
	for i := range 6 {
		gw := gws[i%2]
		go func() {
			req, _ := http.NewRequest("GET", gw.URL+"/pods", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := gw.Client().Do(req)
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode != 200 {
					err = fmt.Errorf("listing = %d", resp.StatusCode)
				}
			}
			done <- err
		}()
	}
	for range 6 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	var charged []string
	testkit.Eventually(t, 5*time.Second, "a metered_pod_usd log line", func() bool {
		charged = meteredPodLog.FindAllString(gws[0].Logs()+gws[1].Logs(), -1)
		return len(charged) > 0
	})
	p.call("GET", "/pods", "").Want(t, 200, id)
	callAs(t, gws[1], tok, "GET", "/pods", "").Want(t, 200, id)
	if charged = meteredPodLog.FindAllString(gws[0].Logs()+gws[1].Logs(), -1); len(charged) != 1 {
		t.Fatalf("metered_pod_usd lines across the instances: %v, want one", charged)
	}
	var total float64
	for _, gw := range gws {
		total += gw.ScrapeMetrics().Sum("gpugate_usage_plan_metered_units_total", `plan="gpu"`, `meter="pod_usd"`)
	}
	for _, gw := range gws {
		if used := (&podMeterGateway{t: t, gw: gw, keyID: keyID}).used(); used != total || used <= 0 {
			t.Fatalf("get-usage pod_usd = %v, the instances' metric sums to %v", used, total)
		}
	}
}
