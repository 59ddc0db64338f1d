package routemetrics

import (
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// TestAdaptGolden adapts every testdata Caddyfile and compares the JSON with
// the golden file beside it (GPUGATE_UPDATE_GOLDEN=1 rewrites them).
func TestAdaptGolden(t *testing.T) { adapttest.Golden(t, "testdata") }

func TestAdaptErrors(t *testing.T) {
	cases := []struct{ name, block, want string }{
		{"no name", "route_metrics", "route_metrics: name the route, e.g. route_metrics generate"},
		{"two names", "route_metrics a b", `route_metrics takes one route name; found also "b"`},
		{"block", "route_metrics a {\n x\n}", "route_metrics has no block"},
		{"bad name", "route_metrics a/b", `route_metrics: route name "a/b": use 1-64 letters, digits`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			adapttest.Error(t, ":8080 {\n"+c.block+"\n}", c.want)
		})
	}
}
