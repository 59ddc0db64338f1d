package modal_test

import (
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

// rawRequest writes a request line exactly as given (Go's client would
// clean or re-encode the path) and reads the response.
func (d *deployment) rawRequest(t *testing.T, requestLine string) testkit.Reply {
	t.Helper()
	return d.gw.Raw(requestLine+"\r\nX-Api-Key: "+clientKey+"\r\nConnection: close", nil)
}
