package modal_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
)

// TestRequestIDOnResponsesUpstreamAndAccessLog: the id a client sees is
// the one Modal received and the one in the access log, and the access log
// holds no key.
func TestRequestIDOnResponsesUpstreamAndAccessLog(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{}, nil)
	ok := d.call(t, "GET", "/api/v1/jobs", "", "X-Request-Id", "client-chosen-id")
	ok.Want(t, http.StatusOK)
	id := ok.Header.Get("X-Request-Id")
	if id == "" || id == "client-chosen-id" {
		t.Fatalf("X-Request-Id %q, want the gateway's", id)
	}
	if got := d.sim.Requests()[0].Header.Values("X-Request-Id"); len(got) != 1 || got[0] != id {
		t.Errorf("Modal received X-Request-Id %q, want %q", got, id)
	}
	denied := d.send(t, "GET", "/api/v1/jobs", "", "X-Api-Key", "not-a-key")
	denied.Want(t, http.StatusForbidden)
	deniedID := denied.Header.Get("X-Request-Id")
	if deniedID == "" || deniedID == id {
		t.Fatalf("403 X-Request-Id %q", deniedID)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(d.gw.Logs(), `"uuid":"`+deniedID+`"`) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	logs := d.gw.Logs()
	for _, want := range []string{`"uuid":"` + id + `"`, `"uuid":"` + deniedID + `"`, `"REDACTED"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("access log lacks %s", want)
		}
	}
	for _, secret := range []string{clientKey, "not-a-key", multitalkKey, modalKey, modalSecret} {
		if strings.Contains(logs, secret) {
			t.Errorf("the gateway log contains a secret or key")
		}
	}
}
