package directiveorder

import (
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"

	_ "github.com/gpugate/gpugate/modules/authcache"
	_ "github.com/gpugate/gpugate/modules/cors"
	_ "github.com/gpugate/gpugate/modules/gwerror"
	_ "github.com/gpugate/gpugate/modules/health"
	_ "github.com/gpugate/gpugate/modules/jsonmap"
	_ "github.com/gpugate/gpugate/modules/jwtauth"
	_ "github.com/gpugate/gpugate/modules/modal"
	_ "github.com/gpugate/gpugate/modules/routemetrics"
	_ "github.com/gpugate/gpugate/modules/runpod"
	_ "github.com/gpugate/gpugate/modules/simulators"
	_ "github.com/gpugate/gpugate/modules/usageplan"
)

// TestDirectiveOrder adapts a site that writes every gpugate directive (and
// the standard ones they are anchored to) in scrambled order; the golden
// JSON shows the order Caddy runs them in: tracing, route_metrics, cors,
// basic_auth, jwt_auth, auth_cache, forward_auth, usage_plan (after an
// authorizer that may return the plan key), request_header, json_map,
// gpugate_health, runpod, modal, reverse_proxy, runpod_simulator,
// modal_simulator.
func TestDirectiveOrder(t *testing.T) { adapttest.Golden(t, "testdata") }
