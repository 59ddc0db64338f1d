package authcache

import (
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// TestAdaptGolden adapts every testdata Caddyfile and compares the JSON with
// the golden file beside it (GPUGATE_UPDATE_GOLDEN=1 rewrites them).
func TestAdaptGolden(t *testing.T) { adapttest.Golden(t, "testdata") }

func TestAdaptErrors(t *testing.T) {
	t.Parallel()
	const fa = "\n forward_auth 127.0.0.1:9100 {\n  uri /auth\n  copy_headers X-Key\n }\n"
	cases := []struct{ name, block, want string }{
		{"no key", "auth_cache {\n ttl 5m\n headers X-Key" + fa + "}", "write key <placeholder>"},
		{"literal key", "auth_cache {\n key Authorization\n ttl 5m\n headers X-Key" + fa + "}", `key "Authorization": write placeholders`},
		{"no ttl", "auth_cache {\n key {http.request.header.Authorization}\n headers X-Key" + fa + "}", "write ttl <duration> above 0"},
		{"bad ttl", "auth_cache {\n key {http.request.header.Authorization}\n ttl soon\n headers X-Key" + fa + "}", `ttl "soon" is not a positive duration`},
		{"no headers", "auth_cache {\n key {http.request.header.Authorization}\n ttl 5m" + fa + "}", "write headers <Header>..."},
		{"no authorizer", "auth_cache {\n key {http.request.header.Authorization}\n ttl 5m\n headers X-Key\n}", "put the authorizer inside the block"},
		{"bad max", "auth_cache {\n key {http.request.header.Authorization}\n ttl 5m\n headers X-Key\n max_entries 0" + fa + "}", `max_entries "0" must be a whole number of at least 1`},
		{"argument", "auth_cache 5m {\n key {http.request.header.Authorization}\n}", "auth_cache: no arguments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			adapttest.Error(t, ":8080 {\n"+c.block+"\n}\n", c.want, "auth_cache")
		})
	}
}
