// Package quickstart runs README's first command, `./xcaddy.sh run`, the
// way a new user does, and every line it prints: both chains against the
// simulators the gateway serves itself, with the development token and the
// demo API key it hands out.
package quickstart

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// banner is what `./xcaddy.sh run` printed for the quickstart.
type banner struct {
	// vars are the NAME=value lines (CA, TOKEN, KEY).
	vars map[string]string
	// lines are the shell lines to paste, in order.
	lines []string
}

// assignment matches a plain NAME=value or NAME='value' line of the banner.
var assignment = regexp.MustCompile(`^([A-Z]+)='?([^ $']+)'?$`)

// waitBanner waits until the gateway's output holds the whole banner (the
// n-th one, counting from 1) and parses it.
func waitBanner(t *testing.T, g *testkit.Gateway, n int) banner {
	t.Helper()
	var block string
	testkit.Eventually(t, 60*time.Second, "the quickstart banner", func() bool {
		parts := strings.Split(g.Logs(), "\nCA=")
		if len(parts) <= n {
			return false
		}
		end := strings.Index(parts[n], "\n# More keys:")
		if end < 0 {
			return false
		}
		block = "CA=" + parts[n][:end]
		return true
	})
	return parseBanner(t, block)
}

func parseBanner(t *testing.T, block string) banner {
	t.Helper()
	b := banner{vars: map[string]string{}}
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		switch m := assignment.FindStringSubmatch(line); {
		case line == "" || strings.HasPrefix(line, "#"):
		case m != nil:
			b.vars[m[1]] = m[2]
		default:
			b.lines = append(b.lines, line)
		}
	}
	for _, name := range []string{"CA", "TOKEN", "KEY"} {
		if b.vars[name] == "" {
			t.Fatalf("the banner sets no %s:\n%s", name, block)
		}
	}
	return b
}

// shell runs one printed line in bash, as if pasted into a terminal that
// holds vars, and returns its output. When the line assigns a variable
// (POD=$(...)), its value is returned too and kept in vars.
func shell(t *testing.T, vars map[string]string, line string) string {
	t.Helper()
	const marker = "\n--value--"
	script := line
	name := ""
	if m := regexp.MustCompile(`^([A-Z]+)=\$\(`).FindStringSubmatch(line); m != nil {
		name = m[1]
		script += "\nprintf '" + strings.ReplaceAll(marker, "\n", `\n`) + "%s' \"$" + name + "\""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	raw, err := cmd.CombinedOutput()
	out := string(raw)
	if err != nil {
		t.Fatalf("printed line failed (%v):\n%s\n%s", err, line, out)
	}
	if name != "" {
		i := strings.LastIndex(out, marker)
		if i < 0 {
			t.Fatalf("line did not set %s:\n%s\n%s", name, line, out)
		}
		vars[name] = out[i+len(marker):]
		out = out[:i]
	}
	return out
}

// check is what one printed line must answer.
type check struct {
	// line matches the printed line.
	line *regexp.Regexp
	// want are strings its output must contain; set names a variable it
	// must set, matching setPattern.
	want       []string
	set        string
	setPattern *regexp.Regexp
	used       int
}

// checks covers every line the banner prints, in order.
func checks() []*check {
	re := regexp.MustCompile
	return []*check{
		{line: re(`/pods -o /dev/null -w`), want: []string{"401"}},
		{line: re(`/pods -H "Authorization: Bearer \$TOKEN"$`), want: []string{"[]"}},
		{line: re(`^POD=\$\(.*-d '\{"name":"quickstart"`), want: []string{"pod "}, set: "POD", setPattern: re(`^[a-z0-9]+$`)},
		{line: re(`^for i in .*/pods/\$POD.*RUNNING`), want: []string{`"status":"RUNNING"`, `"desiredStatus":"RUNNING"`,
			`"gpu":{"id":"NVIDIA GeForce RTX 4090","count":1}`, `"runtime":{"uptime":`, `"GPUGATE_OWNER":"alice"`}},
		{line: re(`-X POST ".*/pods/\$POD/stop"`), want: []string{`{"pod":{"id":"`, `"status":"EXITED"`, `"desiredStatus":"EXITED"`}},
		{line: re(`-X DELETE ".*/pods/\$POD"`), want: []string{"204"}},
		{line: re(`/api/v1/jobs -o /dev/null -w`), want: []string{"403"}},
		{line: re(`^JOB=\$\(.*/api/generate -H "X-Api-Key: \$KEY".*"image_url"`), want: []string{"job "}, set: "JOB",
			setPattern: re(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)},
		{line: re(`^for i in .*/api/v1/jobs/\$JOB.*completed`), want: []string{`"status":"completed"`, `"progress":100`,
			`"s3_output":"s3://multitalk-outputs/outputs/`, `"success":true`}},
		{line: re(`-i https://.*/api/v1/jobs -H "X-Api-Key: \$KEY"$`), want: []string{"HTTP/2 200", `ratelimit-policy: "throttle";q=10;w=2, "quota";q=1000;w=86400`,
			`"count":1`, "x-request-id:"}},
		{line: re(`usage-plans usage --plan multitalk --address `), want: []string{`"usagePlanId": "multitalk"`}},
	}
}

// runBanner runs every printed line and checks each answer.
func runBanner(t *testing.T, b banner) {
	t.Helper()
	vars := map[string]string{}
	for k, v := range b.vars {
		vars[k] = v
	}
	all := checks()
	for _, line := range b.lines {
		var c *check
		for _, candidate := range all {
			if candidate.line.MatchString(line) {
				if c != nil {
					t.Fatalf("two checks match the printed line %s", line)
				}
				c = candidate
			}
		}
		if c == nil {
			t.Fatalf("the banner printed a line this test does not check: %s", line)
		}
		c.used++
		out := shell(t, vars, line)
		for _, want := range c.want {
			if !strings.Contains(out, want) {
				t.Errorf("line %s\nanswered %s\nwant it to contain %s", line, out, want)
			}
		}
		if c.set != "" && !c.setPattern.MatchString(vars[c.set]) {
			t.Errorf("line %s set %s=%q", line, c.set, vars[c.set])
		}
	}
	for _, c := range all {
		if c.used != 1 {
			t.Errorf("the line matching %s was printed %d times, want once", c.line, c.used)
		}
	}
}

// TestQuickstartAsTheREADMESays starts `./xcaddy.sh run` with nothing set
// (no JWT secret, no cloud keys), runs every printed line, checks every
// answer, then restarts it: the demo key is reused.
func TestQuickstartAsTheREADMESays(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		testkit.RequireDependency(t, "curl", err)
	}
	for _, name := range []string{"GPUGATE_JWT_SECRET", "RUNPOD_API_KEY", "MULTITALK_API_KEY", "GPUGATE_RUNPOD_URL", "GPUGATE_MODAL_URL"} {
		t.Setenv(name, "") // restored after the test
		os.Unsetenv(name)
	}
	// Free ports instead of the defaults (9911, 9912), so that the test runs
	// beside others; the gateway's upstream URLs follow them.
	runpodPort, modalPort := testkit.FreePort(t), testkit.FreePort(t)
	g := testkit.StartRunScript(t, "caddyfiles/quickstart.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_RUNPOD_SIM_PORT": fmt.Sprint(runpodPort),
		"GPUGATE_MODAL_SIM_PORT":  fmt.Sprint(modalPort),
		"GPUGATE_RUNPOD_URL":      fmt.Sprintf("http://127.0.0.1:%d/v2", runpodPort),
		"GPUGATE_MODAL_URL":       fmt.Sprintf("http://127.0.0.1:%d", modalPort),
	}})
	first := waitBanner(t, g, 1)
	if first.vars["CA"] != g.RootCAPath() {
		t.Errorf("CA=%s, want the gateway's local CA %s", first.vars["CA"], g.RootCAPath())
	}
	if !strings.HasPrefix(first.vars["KEY"], "gpg_") || strings.Count(first.vars["TOKEN"], ".") != 2 {
		t.Errorf("KEY=%q TOKEN=%q do not look like an API key and a JWT", first.vars["KEY"], first.vars["TOKEN"])
	}
	for _, want := range []string{g.URL + "/pods", g.URL + "/api/v1/jobs"} {
		if !strings.Contains(strings.Join(first.lines, "\n"), want) {
			t.Errorf("the printed lines do not call %s", want)
		}
	}
	runBanner(t, first)

	// Health without any credential, as a load balancer probes it: the
	// readiness body names the usage-plan store's check.
	for _, path := range []string{"/healthz", "/readyz"} {
		resp := g.Do(http.MethodGet, path, nil)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), `{"status":"ok"`) {
			t.Errorf("GET %s: %d %s, want 200 with status ok", path, resp.StatusCode, body)
		}
		if path == "/readyz" && !strings.Contains(string(body), "usage") {
			t.Errorf("GET /readyz: %s, want the usage-plan store's check", body)
		}
	}

	// Neither the token nor the key is in a log line (the banner goes to
	// stdout; Caddy's JSON log lines are on stderr).
	for _, line := range strings.Split(g.Logs(), "\n") {
		if strings.HasPrefix(line, "{") && (strings.Contains(line, first.vars["KEY"]) || strings.Contains(line, first.vars["TOKEN"])) {
			t.Errorf("a log line holds the demo key or the token: %s", line)
		}
	}

	// A restart keeps the demo key (the embedded store and the remembered
	// value), and the printed lines work again.
	g.Stop()
	g.Start()
	second := waitBanner(t, g, 1)
	if second.vars["KEY"] != first.vars["KEY"] {
		t.Errorf("after a restart the demo key changed: %q, then %q", first.vars["KEY"], second.vars["KEY"])
	}
	runBanner(t, second)
}
