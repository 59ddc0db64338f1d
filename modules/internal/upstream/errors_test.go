package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/gpugate/gpugate/modules/gwerror"
)

func TestResolveSecret(t *testing.T) {
	t.Setenv("GPUGATE_TEST_SECRET", " s3cret\n")
	got, err := ResolveSecret("runpod api_key", "{env.GPUGATE_TEST_SECRET}")
	if err != nil || got != "s3cret" {
		t.Fatalf("ResolveSecret = %q, %v", got, err)
	}
	_, err = ResolveSecret("runpod api_key", "{env.GPUGATE_TEST_UNSET_VARIABLE}")
	if err == nil {
		t.Fatal("unset variable: want an error")
	}
	if _, err := ResolveSecret("runpod api_key", ""); err == nil {
		t.Fatal("empty: want an error")
	}
}

func TestErrorResponse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want int
	}{
		{context.DeadlineExceeded, http.StatusGatewayTimeout},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), http.StatusGatewayTimeout},
		{caddyhttp.Error(http.StatusGatewayTimeout, errors.New("x")), http.StatusGatewayTimeout},
		{caddyhttp.Error(http.StatusBadGateway, errors.New("connection refused")), http.StatusBadGateway},
		{errors.New("connection reset"), http.StatusBadGateway},
		{ErrTimedOut, http.StatusGatewayTimeout},
	}
	for _, c := range cases {
		if got := ErrorResponse(c.err).StatusCode(); got != c.want {
			t.Errorf("ErrorResponse(%v) status = %d, want %d", c.err, got, c.want)
		}
	}
	if msg := ErrorResponse(context.DeadlineExceeded).Text(); msg != "Endpoint request timed out" {
		t.Errorf("timeout message = %q", msg)
	}
	if got := ErrorResponse(fmt.Errorf("call: %w", ErrTimedOut)); got.Type != gwerror.IntegrationTimeout {
		t.Errorf("a module's own timer = %v, want a timeout", got.Type)
	}
}
