package gwerror

import (
	"github.com/gpugate/gpugate/modules/internal/adapttest"
	"net/http"
	"testing"
)

// BenchmarkWriteDefault measures a built-in (AWS-style) 429 with the
// request id, the common rejection path of a throttled client.
func BenchmarkWriteDefault(b *testing.B) {
	r, _ := caddyRequest(http.MethodGet)
	w := adapttest.NewNopWriter()
	gw := &Writer{}
	retry := http.Header{"Retry-After": {"1"}}
	b.ReportAllocs()
	for b.Loop() {
		gw.Write(w.Reset(), r, Response{Type: Throttled, Header: retry})
	}
}

// BenchmarkWriteRestyled measures a restyled response with a JSON body
// template using the request id and a Caddy placeholder.
func BenchmarkWriteRestyled(b *testing.B) {
	app := &App{Responses: map[Type]*ResponseStyle{Throttled: {
		Body: `{"error":"rate_limited","message":"{message}","request_id":"{request_id}","path":"{http.request.uri.path}"}`,
	}}}
	if err := app.Provision(caddyContext(b)); err != nil {
		b.Fatal(err)
	}
	r, _ := caddyRequest(http.MethodGet)
	w := adapttest.NewNopWriter()
	gw := &Writer{app: app}
	b.ReportAllocs()
	for b.Loop() {
		gw.Write(w.Reset(), r, Response{Type: Throttled})
	}
}
