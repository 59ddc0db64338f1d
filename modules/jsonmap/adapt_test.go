package jsonmap

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

var update = flag.Bool("update", false, "rewrite the golden .json files in testdata/")

// adapt runs the Caddyfile adapter on src.
func adapt(t *testing.T, src string) ([]byte, error) {
	t.Helper()
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": "Caddyfile"})
	return out, err
}

// TestAdaptGolden adapts every testdata/*.caddyfile and compares the JSON
// with the .json file beside it (go test -update rewrites them).
func TestAdaptGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.caddyfile")
	if len(files) == 0 {
		t.Fatal("no golden Caddyfiles in testdata/")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := adapt(t, string(src))
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, out, "", "\t"); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			golden := strings.TrimSuffix(f, ".caddyfile") + ".json"
			if *update {
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("adapted JSON differs from %s:\n%s", golden, pretty.String())
			}
		})
	}
}

func TestAdaptErrors(t *testing.T) {
	cases := []struct{ name, block, want string }{
		{"empty", `json_map`, "nothing to do; add a request"},
		{"argument", `json_map /x foo`, "takes no arguments besides a matcher"},
		{"unknown op", "json_map {\n request {\n  copy a b\n }\n}", `unknown operation "copy"; use rename, move, wrap, default, set or drop`},
		{"rename arity", "json_map {\n request {\n  rename a\n }\n}", "rename takes two field paths: rename <from> <to>"},
		{"set arity", "json_map {\n request {\n  set a\n }\n}", "set takes a field path and one value"},
		{"bad path", "json_map {\n request {\n  drop a..b\n }\n}", `invalid field path "a..b"`},
		{"empty block", "json_map {\n response {\n }\n}", "the block is empty"},
		{"bad size", "json_map {\n max_body lots\n request {\n  drop a\n }\n}", "max_body: invalid size \"lots\"; write e.g. max_body 1MiB"},
		{"unknown sub", "json_map {\n mapping {\n }\n}", `unknown subdirective "mapping"; use request, response, max_body or max_response_body`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := adapt(t, ":8080 {\n"+c.block+"\n}\n")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "json_map") {
				t.Errorf("error %q does not name the directive", err)
			}
		})
	}
}
