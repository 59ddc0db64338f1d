package gwerror

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
	cases := []struct{ name, global, want string }{
		{"unknown type", "gateway_responses {\n UNAUTHORISED {\n  status 401\n }\n}", `unknown response type "UNAUTHORISED"; use request_id_header or one of ACCESS_DENIED, BAD_REQUEST_BODY`},
		{"bad status", "gateway_responses {\n THROTTLED {\n  status soon\n }\n}", "THROTTLED status: status takes one status code, e.g. status 429"},
		{"status out of range", "gateway_responses {\n THROTTLED {\n  status 99\n }\n}", "status 99 is not a response status"},
		{"body arity", "gateway_responses {\n THROTTLED {\n  body a b\n }\n}", "body takes one template; quote it with backticks"},
		{"unknown sub", "gateway_responses {\n THROTTLED {\n  template x\n }\n}", `unknown subdirective "template"; valid: status, body, header`},
		{"content type without body", "gateway_responses {\n THROTTLED {\n  header Content-Type text/plain\n }\n}", "a Content-Type header needs a body"},
		{"twice", "gateway_responses {\n THROTTLED {\n  status 503\n }\n THROTTLED {\n  status 429\n }\n}", "THROTTLED is configured twice"},
		{"id header arity", "gateway_responses {\n request_id_header\n}", "request_id_header takes one header name (or off)"},
		{"bad id header", "gateway_responses {\n request_id_header X:Id\n}", `invalid request_id_header "X:Id"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := adapttest.Adapt("{\n" + c.global + "\n}\n:8080 {\n respond ok\n}\n")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "gateway_responses") {
				t.Errorf("error %q does not name the option", err)
			}
		})
	}
}

func TestGatewayErrorTakesNoArguments(t *testing.T) {
	t.Parallel()
	_, err := adapttest.Adapt(":8080 {\n respond ok\n handle_errors {\n  gateway_error json\n }\n}\n")
	if err == nil || !strings.Contains(err.Error(), "gateway_error takes no arguments; write `gateway_error` on its own line") {
		t.Fatalf("error = %v", err)
	}
}
