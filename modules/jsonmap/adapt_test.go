package jsonmap

import (
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// TestAdaptGolden adapts every testdata Caddyfile and compares the JSON with
// the golden file beside it (GPUGATE_UPDATE_GOLDEN=1 rewrites them).
func TestAdaptGolden(t *testing.T) { adapttest.Golden(t, "testdata") }

func TestAdaptErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, block, want string }{
		{"empty", `json_map`, "nothing to do; add a request"},
		{"argument", `json_map /x foo`, "takes no arguments besides a matcher"},
		{"unknown op", "json_map {\n request {\n  copy a b\n }\n}", `unknown operation "copy"; use rename, move, wrap, default, set or drop`},
		{"rename arity", "json_map {\n request {\n  rename a\n }\n}", "rename takes two field paths: rename <from> <to>"},
		{"set arity", "json_map {\n request {\n  set a\n }\n}", "set takes a field path and one value"},
		{"bad path", "json_map {\n request {\n  drop a..b\n }\n}", `invalid field path "a..b"`},
		{"empty block", "json_map {\n response {\n }\n}", "the block is empty"},
		{"bad size", "json_map {\n max_body lots\n request {\n  drop a\n }\n}", "json_map max_body \"lots\" is not a size; write e.g. `max_body 1MiB`"},
		{"unknown sub", "json_map {\n mapping {\n }\n}", `unknown subdirective "mapping"; valid: request, response, max_body, max_response_body`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := adapttest.Adapt(":8080 {\n" + c.block + "\n}\n")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "json_map") {
				t.Errorf("error %q does not name the directive", err)
			}
		})
	}
}
