package runpodsim

import (
	"github.com/gpugate/gpugate/modules/simulators/internal/loopback"
)

// TB is what Start needs of a test; *testing.T and *testing.B satisfy it.
type TB = loopback.TB

// Sim is a simulator listening on a loopback port for one test.
type Sim struct {
	*Server
	// URL is the listener's base URL, e.g. http://127.0.0.1:41234.
	URL string
	// ManagementURL is the v2 management API base (URL + "/v2"), what the
	// gateway's base_url points at; ServerlessURL is the Serverless base,
	// the same /v2 on this listener.
	ManagementURL, ServerlessURL string

	srv *loopback.Server
}

// Start runs a simulator with opts on 127.0.0.1 and stops it when the test
// ends.
func Start(t TB, opts Options) *Sim {
	t.Helper()
	sim := New(opts)
	srv := loopback.Serve(t, sim, nil)
	return &Sim{Server: sim, URL: srv.URL, ManagementURL: srv.URL + "/v2", ServerlessURL: srv.URL + "/v2", srv: srv}
}

// Close stops the listener (later requests are refused: an unreachable
// upstream).
func (s *Sim) Close() { s.srv.Close() }
