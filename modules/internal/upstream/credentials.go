package upstream

import "net/http"

// clientCredentialHeaders are request headers that carry a client's own
// credentials. None of them may reach an upstream.
var clientCredentialHeaders = [...]string{
	"Authorization",
	"Proxy-Authorization",
	"X-Api-Key",
	"Cookie",
	"Modal-Key",
	"Modal-Secret",
	"X-Amz-Security-Token",
}

// StripClientCredentials deletes every client credential header from h, plus
// any extra header names the operator configured (e.g. a custom API-key
// header). Call it before injecting the upstream's own credentials.
func StripClientCredentials(h http.Header, extra ...string) {
	for _, name := range clientCredentialHeaders {
		h.Del(name)
	}
	for _, name := range extra {
		h.Del(name)
	}
}
