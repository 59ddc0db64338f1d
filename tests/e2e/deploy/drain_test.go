package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// drain is what a stop of one production Caddyfile needs: shutdown_delay
// plus grace_period, and the longest upstream timeout it configures.
type drain struct {
	delay, grace, longestUpstream time.Duration
}

// drainOf adapts a production Caddyfile with its defaults and reads its
// drain settings and upstream timeouts from the JSON.
func drainOf(t *testing.T, name string) drain {
	t.Helper()
	cmd := exec.Command(testkit.Binary(t), "adapt", "--config", testkit.Path(t, "caddyfiles/"+name+".Caddyfile"), "--adapter", "gpugate")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("adapt %s: %v", name, err)
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				GracePeriod   time.Duration `json:"grace_period"`
				ShutdownDelay time.Duration `json:"shutdown_delay"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	d := drain{delay: cfg.Apps.HTTP.ShutdownDelay, grace: cfg.Apps.HTTP.GracePeriod}
	// Every upstream bound: runpod/modal timeout and follow_redirects,
	// reverse_proxy's response_header_timeout (durations in ns).
	for _, m := range regexp.MustCompile(`"(?:timeout|follow_redirects|response_header_timeout)":\s*(\d+)`).FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		d.longestUpstream = max(d.longestUpstream, time.Duration(n))
	}
	return d
}

// stopTimeout finds a duration setting in a deployment file, e.g.
// TimeoutStopSec=35min or stop_grace_period: 100s.
func stopTimeout(t *testing.T, file string, pattern string) time.Duration {
	t.Helper()
	b, err := os.ReadFile(testkit.Path(t, file))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(pattern).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("%s has no %s", file, pattern)
	}
	v := strings.Replace(m[1], "min", "m", 1)
	if n, err := strconv.Atoi(v); err == nil { // plain seconds
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s: %q: %v", file, m[1], err)
	}
	return d
}

// TestStopDrainsInFlightCalls checks that every production Caddyfile's
// grace period outlasts its longest upstream timeout, that it has a
// shutdown delay for the load balancer to notice /readyz failing, and that
// each deployment file waits for delay + grace before killing: the systemd
// unit and the user data for every shipped file, compose for cluster.
func TestStopDrainsInFlightCalls(t *testing.T) {
	t.Parallel()
	unit := stopTimeout(t, "examples/ec2/gpugate.service", `TimeoutStopSec=(\S+)`)
	userData := stopTimeout(t, "examples/ec2/user-data.sh", `STOP_TIMEOUT:-(\d+)`)
	compose := stopTimeout(t, "examples/compose.yaml", `stop_grace_period: (\S+)`)
	for _, name := range productionCaddyfiles {
		d := drainOf(t, name)
		if d.delay <= 0 {
			t.Errorf("%s: no shutdown_delay", name)
		}
		if d.longestUpstream == 0 || d.grace <= d.longestUpstream {
			t.Errorf("%s: grace_period %s does not outlast the longest upstream timeout %s", name, d.grace, d.longestUpstream)
		}
		need := d.delay + d.grace
		if unit <= need || userData <= need {
			t.Errorf("%s needs %s to stop; TimeoutStopSec is %s, the user data's stop timeout %s", name, need, unit, userData)
		}
		if name == "cluster" && compose <= need {
			t.Errorf("compose runs cluster, which needs %s to stop; stop_grace_period is %s", need, compose)
		}
	}
}
