// Package adapttest is the shared harness of every module's Caddyfile tests:
// golden Caddyfile -> JSON adapt tests over a testdata/ folder, and adapt
// errors that must name the directive and say what to write instead. Its
// Context is the caddy.Context module unit tests provision with.
//
// Set GPUGATE_UPDATE_GOLDEN=1 to rewrite the golden .json files.
package adapttest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	// The Caddyfile adapter and Caddy's standard modules (reverse_proxy,
	// respond, ...) appear in the golden files beside ours.
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// Adapt runs the Caddyfile adapter on src and returns the JSON config.
func Adapt(src string) ([]byte, error) {
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": "Caddyfile"})
	return out, err
}

// Golden adapts every Caddyfile in dir (files ending in .caddyfile or
// .Caddyfile) and compares the indented JSON with the .json file beside it.
func Golden(t *testing.T, dir string) {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.caddyfile", "*.Caddyfile"} {
		matches, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	if len(files) == 0 {
		t.Fatalf("no golden Caddyfiles in %s", dir)
	}
	update := os.Getenv("GPUGATE_UPDATE_GOLDEN") == "1"
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Adapt(string(src))
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, out, "", "\t"); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			golden := strings.TrimSuffix(file, filepath.Ext(file)) + ".json"
			if update {
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (GPUGATE_UPDATE_GOLDEN=1 go test creates it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("adapted JSON differs from %s:\n%s", golden, pretty.String())
			}
		})
	}
}

// Error adapts src, which must fail with an error containing every one of
// wants (the directive's name and what to write instead).
func Error(t *testing.T, src string, wants ...string) {
	t.Helper()
	_, err := Adapt(src)
	if err == nil {
		t.Fatalf("adapt succeeded, want an error containing %q\nCaddyfile:\n%s", wants, src)
	}
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("adapt error %q lacks %q", err.Error(), want)
		}
	}
}
