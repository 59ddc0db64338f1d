package health

import (
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// TestAdaptGolden adapts every testdata Caddyfile and compares the JSON with
// the golden file beside it (GPUGATE_UPDATE_GOLDEN=1 rewrites them).
func TestAdaptGolden(t *testing.T) { adapttest.Golden(t, "testdata") }

func TestAdaptErrors(t *testing.T) {
	cases := []struct{ name, block, want string }{
		{"unknown mode", "gpugate_health alive", `gpugate_health: unknown mode "alive"; write gpugate_health live (liveness) or gpugate_health ready (readiness)`},
		{"two modes", "gpugate_health live ready", "gpugate_health takes one mode, live or ready"},
		{"timeout on live", "gpugate_health live {\n timeout 2s\n}", "timeout applies to readiness only"},
		{"bad timeout", "gpugate_health ready {\n timeout soon\n}", "gpugate_health timeout \"soon\" is not a positive duration; write e.g. `timeout 2s`"},
		{"unknown setting", "gpugate_health ready {\n store redis\n}", `gpugate_health: unknown subdirective "store"; valid: timeout`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			adapttest.Error(t, ":8080 {\n"+c.block+"\n}", c.want)
		})
	}
}
