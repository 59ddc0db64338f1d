package modal_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
)

// TestOldClientSubmitAndPoll replays the old Python client: submit a job in
// the old API Gateway shape with an API key, then poll it to completion.
func TestOldClientSubmitAndPoll(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{JobStep: 150 * time.Millisecond}, nil)
	for _, prefix := range []string{"/api/v1", "/api"} { // today's client paths and the old stage paths
		d.sim.Reset()
		submitted := d.call(t, "POST", prefix+"/generate",
			`{"prompt":"A person talking","image_url":"s3://inputs/face.png","audio_url":"s3://inputs/voice.wav"}`)
		submitted.Want(t, http.StatusOK, `"status":"pending"`)
		jobID, _ := submitted.Object(t)["job_id"].(string)
		if jobID == "" {
			t.Fatalf("no job_id in %s", submitted.Text())
		}

		// What reached Modal: the MultiTalk shape, the gateway's credentials only.
		got := d.sim.Received("/api/v1/generate")
		if len(got) != 1 {
			t.Fatalf("upstream received %v", d.sim.Paths())
		}
		var mapped map[string]any
		if err := json.Unmarshal(got[0].Body, &mapped); err != nil {
			t.Fatal(err)
		}
		want := `{"audio_s3_urls":["s3://inputs/voice.wav"],"image_s3_url":"s3://inputs/face.png","options":{"sample_steps":20},"prompt":"A person talking"}`
		if b, _ := json.Marshal(mapped); string(b) != want {
			t.Errorf("upstream body %s, want %s", b, want)
		}

		var last map[string]any
		for i := 0; i < 50; i++ {
			polled := d.call(t, "GET", prefix+"/jobs/"+jobID, "")
			polled.Want(t, http.StatusOK, `"job_id":"`+jobID+`"`)
			last = polled.Object(t)
			if last["status"] == "completed" {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if last["status"] != "completed" || last["progress"] != 100.0 {
			t.Fatalf("job never completed: %v", last)
		}
		for _, r := range d.sim.Received("/api/v1/jobs/") {
			if r.Method != "GET" || r.Path != "/api/v1/jobs/"+jobID {
				t.Errorf("poll reached the upstream as %s %s", r.Method, r.Path)
			}
		}
	}
}

// TestStepsAndNewShapePassThroughTheTemplate checks the mapping template's
// other branches end to end.
func TestStepsAndNewShapePassThroughTheTemplate(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{}, nil)
	d.call(t, "POST", "/api/v1/generate", `{"prompt":"p","image_url":"s3://b/i.png","audio_url":"s3://b/a.wav","steps":35}`).Want(t, 200)
	d.call(t, "POST", "/api/v1/generate", `{"prompt":"p","image_s3_url":"s3://b/i.png","audio_s3_urls":["s3://b/1.wav","s3://b/2.wav"],"options":{"resolution":"720p"}}`).Want(t, 200)
	got := d.sim.Received("/api/v1/generate")
	if len(got) != 2 {
		t.Fatalf("upstream received %v", d.sim.Paths())
	}
	if !strings.Contains(string(got[0].Body), `"options":{"sample_steps":35}`) {
		t.Errorf("steps not mapped: %s", got[0].Body)
	}
	if !strings.Contains(string(got[1].Body), `"audio_s3_urls":["s3://b/1.wav","s3://b/2.wav"]`) ||
		!strings.Contains(string(got[1].Body), `"options":{"resolution":"720p","sample_steps":20}`) {
		t.Errorf("new-shape body changed unexpectedly: %s", got[1].Body)
	}
	// Invalid input is the upstream's 422, passed through.
	d.call(t, "POST", "/api/v1/generate", `{"prompt":"p","image_url":"https://not-s3/i.png","audio_url":"s3://b/a.wav"}`).
		Want(t, http.StatusUnprocessableEntity, `"detail":[`, `Invalid S3 URL format: https://not-s3/i.png`)
	// Not JSON: the gateway's 400, nothing sent upstream.
	before := len(d.sim.Requests())
	d.call(t, "POST", "/api/v1/generate", `{"prompt":`).Want(t, http.StatusBadRequest, `"message":"Invalid request body`)
	if len(d.sim.Requests()) != before {
		t.Error("an invalid JSON body reached the upstream")
	}
}

// TestCredentialsNeverReachModal proves by what the simulator received that
// the client's credentials are stripped and the gateway's injected, over
// TLS with the right Host and SNI.
func TestCredentialsNeverReachModal(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{}, nil)
	d.call(t, "GET", "/api/v1/jobs?limit=3", "",
		"Authorization", "Bearer client-jwt", "Cookie", "session=s3cr3t", "Modal-Key", "wk-client",
		"Modal-Secret", "ws-client", "Proxy-Authorization", "Basic Zm9vOmJhcg==").Want(t, http.StatusOK, `"jobs"`)
	got := d.sim.Requests()
	if len(got) != 1 {
		t.Fatalf("upstream received %v", d.sim.Paths())
	}
	r := got[0]
	checks := map[string]string{
		"Authorization": "Bearer " + multitalkKey, "Modal-Key": modalKey, "Modal-Secret": modalSecret,
		"X-Api-Key": "", "Cookie": "", "Proxy-Authorization": "",
	}
	for name, want := range checks {
		if v := strings.Join(r.Header.Values(name), ","); v != want {
			t.Errorf("upstream %s = %q, want %q", name, v, want)
		}
	}
	if r.Path != "/api/v1/jobs" || r.Query != "limit=3" {
		t.Errorf("upstream got %s?%s", r.Path, r.Query)
	}
	if r.ServerName != "localhost" || !strings.HasPrefix(d.sim.URL, "https://"+r.Host) {
		t.Errorf("SNI %q Host %q, want the endpoint's (%s)", r.ServerName, r.Host, d.sim.URL)
	}
	for _, secret := range []string{multitalkKey, modalKey, modalSecret, clientKey} {
		if strings.Contains(d.gw.Logs(), secret) {
			t.Errorf("the gateway log contains a secret")
		}
	}
}

// TestNoKeyNoUpstreamCall checks the usage plan guards the route.
func TestNoKeyNoUpstreamCall(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{}, nil)
	d.send(t, "GET", "/api/v1/jobs", "").Want(t, http.StatusForbidden, `{"message":"Forbidden"}`)
	d.send(t, "GET", "/api/v1/jobs", "", "X-Api-Key", "wrong-key").Want(t, http.StatusForbidden, `{"message":"Forbidden"}`)
	if n := len(d.sim.Requests()); n != 0 {
		t.Fatalf("rejected requests reached the upstream: %v", d.sim.Paths())
	}
}

// TestPathEscapesStayOnTheEndpoint sends raw request lines that try to
// climb out of /api/v1 on the upstream.
func TestPathEscapesStayOnTheEndpoint(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{}, nil)
	for _, path := range []string{
		"/api/v1/%2e%2e/%2e%2e/health", "/api/v1/jobs/..%2f..%2f..%2fhealth", "/api/%2e%2e/health",
		"/api/v1/jobs%2F..%2F..%2Fdocs", "/api/..%5c..%5chealth", "/api/v1/./jobs",
	} {
		r := d.rawRequest(t, "GET "+path+" HTTP/1.1")
		if r.Status != http.StatusBadRequest && r.Status != http.StatusNotFound {
			t.Errorf("%s: got %d %s, want 400 or 404", path, r.Status, r.Text())
		}
	}
	// Dot segments that Caddy's matcher would clean are refused as well.
	for _, path := range []string{"/api/v1/../../health", "/api/../health", "/api/v1/jobs/../../../openapi.json"} {
		r := d.rawRequest(t, "GET "+path+" HTTP/1.1")
		if r.Status != http.StatusBadRequest && r.Status != http.StatusNotFound {
			t.Errorf("%s: got %d %s, want 400 or 404", path, r.Status, r.Text())
		}
	}
	// An absolute-form request target cannot choose the upstream host (the
	// simulator is the only upstream; whatever reached it is checked below).
	d.rawRequest(t, "GET https://evil.example/api/v1/jobs HTTP/1.1")
	d.rawRequest(t, "GET //evil.example/api/v1/jobs HTTP/1.1")
	d.call(t, "GET", "/docs", "").Want(t, http.StatusNotFound, `{"message":"Not Found"}`)
	for _, p := range d.sim.Paths() {
		if !strings.HasPrefix(p, "GET /api/v1/jobs") {
			t.Errorf("upstream received %s", p)
		}
	}
}

// TestLongCallsAreFollowed: Modal's 303 after its call limit (200 ms here
// instead of 150 s) is followed by the gateway; the client sees one 200.
func TestLongCallsAreFollowed(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{CallLimit: 200 * time.Millisecond}, nil)
	d.call(t, "POST", "/api/v1/slow?duration=700ms", `{"x":1}`).Want(t, http.StatusOK, `"slept":"700ms"`, `"method":"POST"`)
	polls := d.sim.Received("/api/v1/slow")
	if len(polls) < 3 {
		t.Fatalf("upstream received %v, want the call and its polls", d.sim.Paths())
	}
	for _, p := range polls[1:] {
		if p.Method != "GET" || !strings.Contains(p.Query, "__modal_function_call_id=fc-") || p.Header.Get("Modal-Key") != modalKey {
			t.Errorf("poll %s %s?%s (Modal-Key %q)", p.Method, p.Path, p.Query, p.Header.Get("Modal-Key"))
		}
	}
}

// TestFollowBudgetAndTimeoutAre504 checks both limits answer like API
// Gateway's integration timeout.
func TestFollowBudgetAndTimeoutAre504(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{CallLimit: 100 * time.Millisecond}, map[string]string{"MODAL_FOLLOW_FOR": "500ms"})
	d.call(t, "GET", "/api/v1/slow?duration=5s", "").Want(t, http.StatusGatewayTimeout, `{"message":"Endpoint request timed out"}`)

	d = deploy(t, modalsim.Options{CallLimit: 10 * time.Second}, map[string]string{"MODAL_TIMEOUT": "300ms"})
	start := time.Now()
	d.call(t, "GET", "/api/v1/slow?duration=3s", "").Want(t, http.StatusGatewayTimeout, `{"message":"Endpoint request timed out"}`)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("504 after %v, want about 300ms", took)
	}
}

// TestUnreachableIs502 points the gateway at a closed port.
func TestUnreachableIs502(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{}, map[string]string{"MODAL_URL": "https://localhost:1"})
	d.call(t, "GET", "/api/v1/jobs", "").Want(t, http.StatusBadGateway, `{"message":"Bad Gateway"}`)
}

// TestBodyLimitIs413 sends a body over max_body.
func TestBodyLimitIs413(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{}, map[string]string{"MODAL_MAX_BODY": "2KB"})
	big := `{"prompt":"` + strings.Repeat("x", 4000) + `"}`
	d.call(t, "POST", "/api/v1/slow?duration=0s", big).Want(t, http.StatusRequestEntityTooLarge, `{"message":"Request Too Long"}`)
	if n := len(d.sim.Requests()); n != 0 {
		t.Fatalf("an oversized body reached the upstream: %v", d.sim.Paths())
	}
}

// TestEventStreamIsNotBuffered reads the first event before the upstream
// has sent the last.
func TestEventStreamIsNotBuffered(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{}, nil)
	resp := d.gw.Do("GET", "/api/v1/stream?events=2&interval=3s", nil, "X-Api-Key", clientKey)
	defer resp.Body.Close()
	start := time.Now()
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "event: progress") {
		t.Fatalf("first read %q, %v", buf[:n], err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("first event after %v: buffered", took)
	}
}
