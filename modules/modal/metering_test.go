package modal

import (
	"net/http"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/internal/metering"
	"github.com/gpugate/gpugate/modules/simulators/modalsim"
)

// TestWallTimeReadingSpansFollowedRedirects: the modal_wall reading of a
// long call covers the POST and every followed 303 until the result.
func TestWallTimeReadingSpansFollowedRedirects(t *testing.T) {
	sim := modalsim.New(modalsim.Options{CallLimit: 50 * time.Millisecond}).Start(t)
	h := provision(t, &Handler{URL: sim.URL, PathPrefix: "/api", UpstreamPrefix: "/api/v1"})
	req := request("POST", "/api/slow?duration=220ms", `{"x":1}`, "Content-Type", "application/json")
	ctx, sheet := metering.WithSheet(req.Context())
	rec := do(h, req.WithContext(ctx))
	wantStatus(t, rec, http.StatusOK, `"slept":"220ms"`)
	got := sheet.Readings()
	if len(got) != 1 || got[0].Source != metering.ModalWall || got[0].Seconds < 0.22 || got[0].Seconds > 5 {
		t.Fatalf("readings %+v, want one modal_wall of at least 0.22 s", got)
	}
	// A gateway error is not a call: nothing is read.
	req = request("GET", "/elsewhere", "")
	ctx, sheet = metering.WithSheet(req.Context())
	do(h, req.WithContext(ctx))
	if got := sheet.Readings(); len(got) != 0 {
		t.Fatalf("a 404 of the gateway was metered: %+v", got)
	}
}
