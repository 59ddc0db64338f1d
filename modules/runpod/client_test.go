package runpod

import (
	"errors"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// TestConnectFailureIsRecognised proves the retry condition of call: a
// refused connection surfaces as Caddy's DialError (retried once for a
// GET), while an answered request never does.
func TestConnectFailureIsRecognised(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/v2"
	l.Close()
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModePods, BaseURL: closed}, sim)
	client := httptest.NewRequest("GET", "/pods", nil)
	_, err = h.send(client, "GET", "/pods", nil)
	var dialErr reverseproxy.DialError
	if !errors.As(err, &dialErr) {
		t.Fatalf("refused connection: %T %v, want a DialError", err, err)
	}
	if _, err := h.call(client, "POST", "/pods", []byte(`{}`)); !errors.As(err, &dialErr) {
		t.Fatalf("POST: %v", err)
	}
}
