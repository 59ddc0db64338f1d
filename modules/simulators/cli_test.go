package simulators

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// command returns the simulate subcommand kind with args parsed.
func command(t *testing.T, kind string, args ...string) *cobra.Command {
	t.Helper()
	root := &cobra.Command{Use: "simulate"}
	buildCLI(root)
	for _, c := range root.Commands() {
		if c.Name() == kind {
			if err := c.ParseFlags(args); err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	t.Fatalf("no subcommand %q", kind)
	return nil
}

func TestSimulatorConfig(t *testing.T) {
	cfg, url, err := simulatorConfig("runpod", command(t, "runpod", "--listen", "127.0.0.1:19911", "--endpoint", "ep-a", "--provision-delay", "250ms"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	for _, want := range []string{`"disabled":true`, `"listen":["127.0.0.1:19911"]`, `"handler":"gpugate_runpod_simulator"`,
		`"api_key":"{env.RUNPOD_API_KEY}"`, `"endpoints":["ep-a"]`, `"provision_delay":250000000`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("config lacks %s:\n%s", want, raw)
		}
	}
	if url != "http://127.0.0.1:19911/v2" {
		t.Errorf("url %q", url)
	}

	cfg, url, err = simulatorConfig("modal", command(t, "modal", "--proxy-auth", "--job-step", "2s"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = json.Marshal(cfg)
	for _, want := range []string{`"handler":"gpugate_modal_simulator"`, `"api_key":"{env.MULTITALK_API_KEY}"`,
		`"proxy_key":"{env.MODAL_KEY}"`, `"proxy_secret":"{env.MODAL_SECRET}"`, `"job_step":2000000000`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("config lacks %s:\n%s", want, raw)
		}
	}
	if url != "http://127.0.0.1:9912/api/v1" {
		t.Errorf("url %q", url)
	}
}

func TestSimulatorConfigRefusals(t *testing.T) {
	for _, c := range []struct {
		kind string
		args []string
		want string
	}{
		{"runpod", []string{"--listen", "0.0.0.0:9911"}, "loopback addresses only"},
		{"runpod", []string{"--listen", "192.0.2.1:9911"}, "loopback addresses only"},
		{"modal", []string{"--listen", "9912"}, "write host:port"},
		{"runpod", []string{"--api-key-env", ""}, "always checks a bearer key"},
		{"modal", []string{"--api-key-env", "NOT-A-NAME"}, "name an environment variable"},
		{"runpod", []string{"--endpoint", "a/b"}, `endpoint "a/b"`},
	} {
		if _, _, err := simulatorConfig(c.kind, command(t, c.kind, c.args...)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want an error with %q", c.kind, c.args, err, c.want)
		}
	}
}
