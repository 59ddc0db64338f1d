package cors

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
	cases := []struct{ name, block, want string }{
		{"no origins", "cors {\n methods GET\n}", "cors: no origins; write e.g. origins https://app.example.com"},
		{"credentials with *", "cors {\n origins *\n credentials\n}", "credentials cannot be combined with origins *"},
		{"path in origin", "cors {\n origins https://app.example.com/app\n}", `invalid origin "https://app.example.com/app": an origin has no user, path, query or fragment; write https://app.example.com`},
		{"trailing slash", "cors {\n origins https://app.example.com/\n}", "an origin has no trailing slash; write https://app.example.com"},
		{"no scheme", "cors {\n origins app.example.com\n}", "not of the form scheme://host[:port]"},
		{"null origin", "cors {\n origins null\n}", "the null origin"},
		{"wildcard mid-label", "cors {\n origins https://app*.example.com\n}", "* may only stand for the leftmost labels"},
		{"wildcard public suffix", "cors {\n origins https://*.co.uk\n}", "would allow sites of anyone under the public suffix co.uk"},
		{"wildcard tld", "cors {\n origins https://*.com\n}", "public suffix com"},
		{"star with others", "cors {\n origins * https://a.example.com\n}", "origin * already allows every origin"},
		{"bad scheme", "cors {\n origins ftp://a.example.com\n}", "the scheme must be http or https"},
		{"bad method", "cors {\n origins https://a.example.com\n methods GET,POST\n}", `invalid method "GET,POST"; list methods such as GET POST DELETE`},
		{"bad max_age", "cors {\n origins https://a.example.com\n max_age soon\n}", `max_age: invalid duration "soon"; write e.g. max_age 10m`},
		{"credentials value", "cors {\n origins https://a.example.com\n credentials yes\n}", "credentials takes no value"},
		{"argument", "cors https://a.example.com", "cors takes no arguments besides a matcher"},
		{"unknown", "cors {\n origins https://a.example.com\n allow_origin x\n}", `unknown subdirective "allow_origin"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := adapttest.Adapt(":8080 {\n" + c.block + "\n}\n")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "cors") {
				t.Errorf("error %q does not name the directive", err)
			}
		})
	}
}
