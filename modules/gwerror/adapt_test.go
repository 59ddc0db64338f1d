package gwerror

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
	cases := []struct{ name, global, want string }{
		{"unknown type", "gateway_responses {\n UNAUTHORISED {\n  status 401\n }\n}", `unknown response type "UNAUTHORISED"; use request_id_header or one of ACCESS_DENIED, BAD_REQUEST_BODY`},
		{"bad status", "gateway_responses {\n THROTTLED {\n  status soon\n }\n}", "THROTTLED: status takes one status code, e.g. status 429"},
		{"status out of range", "gateway_responses {\n THROTTLED {\n  status 99\n }\n}", "status 99 is not a response status"},
		{"body arity", "gateway_responses {\n THROTTLED {\n  body a b\n }\n}", "body takes one template; quote it with backticks"},
		{"unknown sub", "gateway_responses {\n THROTTLED {\n  template x\n }\n}", `unknown subdirective "template"; use status, body or header`},
		{"content type without body", "gateway_responses {\n THROTTLED {\n  header Content-Type text/plain\n }\n}", "a Content-Type header needs a body"},
		{"twice", "gateway_responses {\n THROTTLED {\n  status 503\n }\n THROTTLED {\n  status 429\n }\n}", "THROTTLED is configured twice"},
		{"id header arity", "gateway_responses {\n request_id_header\n}", "request_id_header takes one header name (or off)"},
		{"bad id header", "gateway_responses {\n request_id_header X:Id\n}", `invalid request_id_header "X:Id"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := adapt(t, "{\n"+c.global+"\n}\n:8080 {\n respond ok\n}\n")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "gateway_responses") {
				t.Errorf("error %q does not name the option", err)
			}
		})
	}
}
