package build

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

// TestDockerfileBuildStep runs the Dockerfile's build step the way `docker
// build -f examples/Dockerfile .` would, without a Docker engine: the
// repository's files minus what examples/Dockerfile.dockerignore leaves out
// (no .git), copied to a fresh directory, then `./xcaddy.sh build` there.
// The binary it makes is the one the image ships.
func TestDockerfileBuildStep(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the gateway from a copy of the tree")
	}
	root := testkit.RepoRoot(t)
	dockerfile, err := os.ReadFile(filepath.Join(root, "examples", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dockerfile), "./xcaddy.sh build") {
		t.Fatal("examples/Dockerfile no longer builds with ./xcaddy.sh build; update this test")
	}
	// The default command's Caddyfile must be one that the image copies.
	m := regexp.MustCompile(`/etc/gpugate/([\w.-]+\.Caddyfile)`).FindAllStringSubmatch(string(dockerfile), -1)
	if len(m) == 0 {
		t.Fatal("examples/Dockerfile names no /etc/gpugate/*.Caddyfile")
	}
	for _, match := range m {
		if _, err := os.Stat(filepath.Join(root, "caddyfiles", match[1])); err != nil {
			t.Errorf("Dockerfile runs %s, which caddyfiles/ does not have", match[1])
		}
	}

	context := t.TempDir()
	ignored := dockerIgnore(t, filepath.Join(root, "examples", "Dockerfile.dockerignore"))
	files, err := exec.Command("git", "-C", root, "ls-files", "-co", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, rel := range strings.Fields(string(files)) {
		if ignored(rel) {
			continue
		}
		src := filepath.Join(root, rel)
		info, err := os.Stat(src)
		if err != nil || info.IsDir() {
			continue // deleted in the work tree
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(context, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(context, ".git")); err == nil {
		t.Fatal(".git reached the build context")
	}

	// The build stage's RUN line, run as the Dockerfile runs it (sh -c with
	// the build arguments in the environment).
	run := buildStageRun(t, string(dockerfile))
	const version, commit = "9.8.7-test", "abc1234"
	cmd := exec.Command("sh", "-c", run)
	cmd.Dir = context
	cmd.Env = append(os.Environ(), "GIT_DIR=/nonexistent", "GPUGATE_VERSION="+version, "GPUGATE_COMMIT="+commit)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the Dockerfile's build step (%s) in the Docker context: %v\n%s", run, err, out)
	}
	out, err := exec.Command(filepath.Join(context, "bin", "gpugate"), "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "gpugate/"+version+"+"+commit+" v2.11.9") {
		t.Fatalf("the image's gpugate version = %q (%v), want gpugate/%s+%s v2.11.9", out, err, version, commit)
	}
	for _, want := range []string{"ARG GPUGATE_VERSION", "ARG GPUGATE_COMMIT", "HEALTHCHECK", "gpugate\", \"health-check"} {
		if !strings.Contains(string(dockerfile), want) {
			t.Errorf("examples/Dockerfile lacks %q", want)
		}
	}
	out, err = exec.Command(filepath.Join(context, "bin", "gpugate"), "list-modules").CombinedOutput()
	if err != nil || !containsLine(string(out), "http.handlers.gpugate_jwt_auth") {
		t.Fatalf("the image's binary lacks gpugate modules: %v\n%s", err, out)
	}
}

// buildStageRun returns the command of the build stage's RUN line that
// calls ./xcaddy.sh build.
func buildStageRun(t *testing.T, dockerfile string) string {
	t.Helper()
	for _, line := range strings.Split(dockerfile, "\n") {
		if cmd, ok := strings.CutPrefix(line, "RUN "); ok && strings.Contains(cmd, "./xcaddy.sh build") {
			return cmd
		}
	}
	t.Fatal("examples/Dockerfile has no RUN line with ./xcaddy.sh build")
	return ""
}

// dockerIgnore returns a matcher for the simple patterns the project's
// .dockerignore uses: a name or folder, and **/ prefixes.
func dockerIgnore(t *testing.T, path string) func(rel string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var patterns []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	return func(rel string) bool {
		parts := strings.Split(rel, "/")
		for _, p := range patterns {
			if name, ok := strings.CutPrefix(p, "**/"); ok {
				for _, part := range parts {
					if ok, _ := filepath.Match(name, part); ok {
						return true
					}
				}
				continue
			}
			if ok, _ := filepath.Match(p, parts[0]); ok {
				return true
			}
		}
		return false
	}
}
