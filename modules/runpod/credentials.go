package runpod

import (
	"net/http"

	"github.com/gpugate/gpugate/modules/internal/upstream"
)

// forwardedHeaders reveal the client's address and the gateway's host to
// RunPod; the gateway is the client RunPod deals with, so they are dropped.
var forwardedHeaders = [...]string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-Ip"}

// stripCredentials removes every client credential (and the client's
// forwarding headers) from an outgoing request's headers.
func stripCredentials(h http.Header) {
	upstream.StripClientCredentials(h)
	for _, name := range forwardedHeaders {
		h.Del(name)
	}
}
