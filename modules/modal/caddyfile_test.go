package modal

import (
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// TestAdaptGolden adapts every testdata Caddyfile and compares the JSON with
// the golden file beside it (GPUGATE_UPDATE_GOLDEN=1 rewrites them).
func TestAdaptGolden(t *testing.T) { adapttest.Golden(t, "testdata") }

// TestAdaptErrors checks that bad configurations fail at adapt time with a
// message that names the directive and says what to write instead.
func TestAdaptErrors(t *testing.T) {
	cases := []struct {
		name, block string
		want        []string
	}{
		{"no endpoint", "modal", []string{"modal: no endpoint", "url https://"}},
		{"literal bearer", "modal https://a--b.modal.run {\n bearer sk-live-123\n}", []string{"modal bearer", "{env.NAME}"}},
		{"literal proxy secret", "modal https://a--b.modal.run {\n proxy_auth {env.K} ws-abc\n}", []string{"modal proxy_auth secret", "{env.NAME}"}},
		{"proxy_auth one arg", "modal https://a--b.modal.run {\n proxy_auth {env.K}\n}", []string{"modal proxy_auth", "proxy_auth {env.MODAL_KEY} {env.MODAL_SECRET}"}},
		{"credentials in url", "modal https://user:pw@a--b.modal.run", []string{"modal url", "bearer or proxy_auth"}},
		{"query in url", "modal https://a--b.modal.run/?k=v", []string{"modal url", "query"}},
		{"ftp url", "modal ftp://a--b.modal.run", []string{"modal url", "https://"}},
		{"url and workspace", "modal https://a--b.modal.run {\n workspace acme\n}", []string{"modal: write either url or workspace"}},
		{"workspace alone", "modal {\n workspace acme\n}", []string{"workspace and label go together"}},
		{"both redirect modes", "modal https://a--b.modal.run {\n follow_redirects\n pass_redirects\n}", []string{"exclude each other"}},
		{"both prefixes", "modal https://a--b.modal.run {\n strip_prefix /api\n replace_prefix /api /v1\n}", []string{"exclude each other", "replace_prefix /api /"}},
		{"relative prefix", "modal https://a--b.modal.run {\n strip_prefix api\n}", []string{"must start with /"}},
		{"dot prefix", "modal https://a--b.modal.run {\n replace_prefix /api /api/../admin\n}", []string{"replace_prefix", "dot segments"}},
		{"bad timeout", "modal https://a--b.modal.run {\n timeout soon\n}", []string{"modal timeout", "timeout 160s"}},
		{"zero follow", "modal https://a--b.modal.run {\n follow_redirects 0s\n}", []string{"modal follow_redirects", "follow_redirects 30m"}},
		{"bad size", "modal https://a--b.modal.run {\n max_body lots\n}", []string{"modal max_body", "max_body 10MB"}},
		{"twice", "modal https://a--b.modal.run {\n timeout 1s\n timeout 2s\n}", []string{"timeout is set twice"}},
		{"unknown", "modal https://a--b.modal.run {\n retries 3\n}", []string{`unknown subdirective "retries"`, "tls_ca"}},
		{"api_key guess", "modal https://a--b.modal.run {\n api_key {env.X}\n}", []string{`unknown subdirective "api_key"`, "bearer {env.NAME}"}},
		{"two urls", "modal https://a--b.modal.run https://c--d.modal.run", []string{"one url"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := adapttest.Adapt(":8443 {\n" + c.block + "\n}\n")
			if err == nil {
				t.Fatal("adapt succeeded, want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, secret := range []string{"sk-live-123", "ws-abc", ":pw@"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error repeats a secret: %v", err)
				}
			}
		})
	}
}
