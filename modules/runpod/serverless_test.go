package runpod

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
)

func TestServerlessAliasesAndOperations(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModeServerless, Endpoints: map[string]string{"echo": "ep-abc123"}}, sim)
	var run map[string]any
	res := serve(t, h, "", "POST", "/jobs/echo/run", `{"input":{"prompt":"hi"}}`)
	res.json(t, &run)
	if res.Code != 200 || run["status"] != "IN_QUEUE" {
		t.Fatalf("run = %d %s", res.Code, res.Body)
	}
	id := run["id"].(string)
	if got := sim.RequestsTo("POST", "/v2/ep-abc123/run"); len(got) != 1 {
		t.Fatalf("alias not mapped to the endpoint id: %v", sim.Requests())
	}
	var sync map[string]any
	serve(t, h, "", "POST", "/jobs/echo/runsync?wait=5000", `{"input":{"n":1}}`).json(t, &sync)
	if sync["status"] != "COMPLETED" || sync["output"] == nil {
		t.Fatalf("runsync = %v", sync)
	}
	if r := sim.RequestsTo("POST", "/v2/ep-abc123/runsync"); r[0].RawQuery != "wait=5000" {
		t.Fatalf("query not passed: %q", r[0].RawQuery)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var st map[string]any
		serve(t, h, "", "GET", "/jobs/echo/status/"+id, "").json(t, &st)
		if st["status"] == "COMPLETED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job never completed: %v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, path := range []string{"/jobs/echo/health", "/jobs/echo/stream/" + id} {
		if res := serve(t, h, "", "GET", path, ""); res.Code != 200 {
			t.Fatalf("GET %s = %d %s", path, res.Code, res.Body)
		}
	}
	for _, path := range []string{"/jobs/echo/cancel/" + id, "/jobs/echo/purge-queue"} {
		if res := serve(t, h, "", "POST", path, ""); res.Code != 200 {
			t.Fatalf("POST %s = %d %s", path, res.Code, res.Body)
		}
	}
	if res := serve(t, h, "", "POST", "/jobs/echo/retry/"+id, ""); res.Code != 400 {
		t.Fatalf("retry of a completed job = %d %s", res.Code, res.Body)
	}
	sim.ResetRequests()
	for _, path := range []string{"/jobs/other/run", "/jobs/echo/explode", "/jobs/echo/status", "/jobs/echo/run/x", "/ep-abc123/run", "/jobs/echo/status/x.y"} {
		if res := serve(t, h, "", "POST", path, `{"input":{}}`); res.Code != 404 {
			t.Errorf("POST %s = %d, want 404", path, res.Code)
		}
	}
	if n := len(sim.Requests()); n != 0 {
		t.Fatalf("%d rejected requests reached RunPod", n)
	}
}

// firstLineAfter reads the stream until a data line and returns how long
// it took since start.
func firstDataLine(t *testing.T, body io.Reader, start time.Time) (string, time.Duration) {
	t.Helper()
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data:") {
			return sc.Text(), time.Since(start)
		}
	}
	t.Fatalf("stream ended without data: %v", sc.Err())
	return "", 0
}

func TestStreamsFlowUnbuffered(t *testing.T) {
	const runTime = 1500 * time.Millisecond
	sim := startSim(t, func(o *runpodsim.Options) {
		o.QueueDelay, o.RunDelay, o.StreamChunks = 0, runTime, 3
		o.LogLines, o.LogInterval = 3, runTime/2
	})
	t.Run("serverless stream", func(t *testing.T) {
		h := provision(t, &Handler{Mode: ModeServerless, Endpoints: map[string]string{"echo": "ep-abc123"}}, sim)
		srv := asHTTPServer(t, h)
		var run map[string]any
		serve(t, h, "", "POST", "/jobs/echo/run", `{"input":{}}`).json(t, &run)
		start := time.Now()
		req, _ := http.NewRequest("GET", srv.URL+"/jobs/echo/stream/"+run["id"].(string), nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line, took := firstDataLine(t, resp.Body, start)
		if took >= runTime*3/4 || !strings.Contains(line, "chunk 1") {
			t.Fatalf("first event %q after %v; the job runs %v, so it was buffered", line, took, runTime)
		}
		rest, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(rest), "chunk 3") || !strings.Contains(string(rest), "COMPLETED") {
			t.Fatalf("rest of stream: %s", rest)
		}
	})
	t.Run("pod logs SSE", func(t *testing.T) {
		h := provision(t, &Handler{Mode: ModeAPI}, sim)
		var created map[string]any
		serve(t, h, "", "POST", "/pods", `{"name":"l","image":"i","gpu":{"id":"NVIDIA GeForce RTX 4090"}}`).json(t, &created)
		srv := asHTTPServer(t, h)
		start := time.Now()
		resp, err := http.Get(srv.URL + "/pods/" + created["id"].(string) + "/logs")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, took := firstDataLine(t, resp.Body, start); took >= runTime/2 {
			t.Fatalf("first log line after %v, want before the second line is written (%v)", took, runTime/2)
		}
		rest, _ := io.ReadAll(resp.Body)
		if strings.Count(string(rest), "data:") != 2 || time.Since(start) < runTime*9/10 {
			t.Fatalf("rest after %v: %s", time.Since(start), rest)
		}
	})
}

// TestBodyLimits: RunPod's own limits by default (10 MB run, 20 MB
// runsync), max_body when set; a declared size over the limit never
// reaches RunPod, a streamed body is cut when it passes the limit.
func TestBodyLimits(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModeServerless, Endpoints: map[string]string{"echo": "ep-abc123"}}, sim)
	big := `{"input":{"pad":"` + strings.Repeat("x", 11<<20) + `"}}`
	if res := serve(t, h, "", "POST", "/jobs/echo/run", big); res.Code != 413 || res.message(t) != "Request Too Long" {
		t.Fatalf("11 MB run = %d %s", res.Code, res.Body)
	}
	if got := sim.RequestsTo("POST", "/v2/ep-abc123/run"); len(got) != 0 {
		t.Fatalf("a body over the limit reached RunPod: %d requests", len(got))
	}
	if res := serve(t, h, "", "POST", "/jobs/echo/runsync", big); res.Code != 200 {
		t.Fatalf("11 MB runsync = %d %.200s, want it accepted (RunPod's runsync limit is 20 MB)", res.Code, res.Body)
	}

	small := provision(t, &Handler{Mode: ModeServerless, Endpoints: map[string]string{"echo": "ep-abc123"}, MaxBody: 1 << 10}, sim)
	srv := asHTTPServer(t, small)
	body := io.MultiReader(strings.NewReader(`{"input":{"pad":"`), strings.NewReader(strings.Repeat("y", 4<<10)), strings.NewReader(`"}}`))
	req, _ := http.NewRequest("POST", srv.URL+"/jobs/echo/run", body) // no length: chunked
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(b), "Request Too Long") {
		t.Fatalf("a streamed 4 KiB body over max_body 1KiB = %d %s", resp.StatusCode, b)
	}
}
