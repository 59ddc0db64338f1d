package modal_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/modalsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

// TestPythonClientUnchanged runs the old MultiTalk client itself
// (examples/clients/multitalk_client.py, standard library only) against the
// gateway: it submits in the old shape with X-Api-Key and polls to the end.
func TestPythonClientUnchanged(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		testkit.RequireDependency(t, "python3", err)
	}
	d := deploy(t, modalsim.Options{JobStep: 100 * time.Millisecond}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, testkit.Path(t, "examples/clients/multitalk_client.py"))
	cmd.Env = []string{
		"GPUGATE_URL=" + d.gw.URL, "GPUGATE_API_KEY=" + clientKey, "GPUGATE_CA=" + d.gw.RootCAPath(),
		"POLL_SECONDS=0.1", "TIMEOUT_SECONDS=30", "STEPS=25",
		"IMAGE_URL=s3://inputs/face.png", "AUDIO_URL=s3://inputs/voice.wav",
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("multitalk_client.py: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"status": "completed"`) {
		t.Fatalf("client output:\n%s", out)
	}
	got := d.sim.Received("/api/v1/generate")
	if len(got) != 1 {
		t.Fatalf("upstream received %v", d.sim.Paths())
	}
	var body map[string]any
	_ = json.Unmarshal(got[0].Body, &body)
	if b, _ := json.Marshal(body); string(b) != `{"audio_s3_urls":["s3://inputs/voice.wav"],"image_s3_url":"s3://inputs/face.png","options":{"sample_steps":25},"prompt":"A person talking to the camera"}` {
		t.Errorf("upstream body %s", b)
	}
	if polls := d.sim.Received("/api/v1/jobs/"); len(polls) < 2 {
		t.Errorf("client polled %d times, want it to see the job progress", len(polls))
	}
}
