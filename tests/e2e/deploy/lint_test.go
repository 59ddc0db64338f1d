package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

// tool returns the path of a lint tool, skipping (failing under CI) when
// it is missing.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testkit.RequireDependency(t, name+" (apt-get install "+pkg+")", err)
	}
	return p
}

// TestShellScriptsPassShellcheck lints every shell script of the
// repository: the ones git knows with a .sh name or a bash/sh shebang.
func TestShellScriptsPassShellcheck(t *testing.T) {
	t.Parallel()
	sc := tool(t, "shellcheck", "shellcheck")
	root := testkit.RepoRoot(t)
	out, err := exec.Command("git", "-C", root, "ls-files", "-co", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var scripts []string
	for _, rel := range strings.Fields(string(out)) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			continue
		}
		first, _, _ := strings.Cut(string(b), "\n")
		if strings.HasSuffix(rel, ".sh") || strings.HasPrefix(first, "#!/bin/bash") ||
			strings.HasPrefix(first, "#!/usr/bin/env bash") || strings.HasPrefix(first, "#!/bin/sh") {
			scripts = append(scripts, filepath.Join(root, rel))
		}
	}
	for _, want := range []string{"xcaddy.sh", ".ci/run", "examples/ec2/user-data.sh"} {
		found := false
		for _, s := range scripts {
			found = found || strings.HasSuffix(s, "/"+want)
		}
		if !found {
			t.Fatalf("%s is not among the scripts found: %v", want, scripts)
		}
	}
	if out, err := exec.Command(sc, scripts...).CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the EC2 unit (its
// ExecStart pointed at the built binary, which verify requires to exist)
// and checks it keeps secrets out of the command line and the journal.
func TestSystemdUnitVerifies(t *testing.T) {
	t.Parallel()
	sa := tool(t, "systemd-analyze", "systemd")
	unit, err := os.ReadFile(testkit.Path(t, "examples/ec2/gpugate.service"))
	if err != nil {
		t.Fatal(err)
	}
	var directives strings.Builder // the unit without its comments
	for _, line := range strings.Split(string(unit), "\n") {
		if !strings.HasPrefix(line, "#") {
			directives.WriteString(line + "\n")
		}
	}
	for _, bad := range []string{"--environ", "SECRET=", "API_KEY="} {
		if strings.Contains(directives.String(), bad) {
			t.Errorf("the unit contains %q: secrets would reach the journal or the unit", bad)
		}
	}
	for _, want := range []string{"LoadCredential=secrets.env:/etc/gpugate/secrets.env", "--envfile %d/secrets.env", "AmbientCapabilities=CAP_NET_BIND_SERVICE"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	copy := filepath.Join(t.TempDir(), "gpugate.service")
	body := strings.ReplaceAll(string(unit), "/usr/local/bin/gpugate", testkit.Binary(t))
	if err := os.WriteFile(copy, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", copy).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "gpugate.service") {
		t.Errorf("systemd-analyze verify warns about the unit:\n%s", out)
	}
}

// TestAlertRulesPassPromtool checks the alert rules and the Prometheus
// configuration that loads them.
func TestAlertRulesPassPromtool(t *testing.T) {
	t.Parallel()
	pt := tool(t, "promtool", "prometheus")
	for _, args := range [][]string{
		{"check", "rules", testkit.Path(t, "examples/observability/alerts.yml")},
		{"check", "config", testkit.Path(t, "examples/observability/prometheus.yml")},
	} {
		if out, err := exec.Command(pt, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
