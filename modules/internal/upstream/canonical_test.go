package upstream

import (
	"errors"
	"testing"
)

// TestCanonicalPaths covers the paths a gateway in front of several
// frameworks must refuse because one of them would resolve another path
// than the gateway matched (and so skip a throttle bucket, a scope or a
// cost), and the ordinary paths it must let through.
func TestCanonicalPaths(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{
		"", "/", "/api/v1/generate", "/api/v1/jobs/0b7c1f52-8a4e-4c1b-9d0e-3f6a2b5c7d91", "/api/", "/API/v1/jobs",
		"/files/report%20final.pdf", "/v2/pods/abc_1-2", "/search/caf%C3%A9", "/a/b.c/d", "/a/%3Fq", "/~user",
	} {
		if err := CheckCanonicalPath(ok); err != nil {
			t.Errorf("CheckCanonicalPath(%q) = %v, want it accepted", ok, err)
		}
	}
	for _, bad := range []string{
		"/api/generate;x", "/api/generate;jsessionid=1", "/api/..;/admin", "/api/generate%20", "/api/%20generate",
		"/api/generate.", "/%61pi/v1/generate", "/api/%67enerate", "/api/%252e%252e/admin", "/api/%25", "/api/%C0%AE%C0%AE/x",
		"/api/%2e%2e/x", "/api/../x", "/api/./x", "/api//generate", "/api/a%2fb", "/api/a%5cb", "/api/a\\b",
		"/api/%00", "/api/a%0d%0ab", "/api/%zz", "/api/%2", "api/x", "/api/\xff",
	} {
		if err := CheckCanonicalPath(bad); !errors.Is(err, ErrNonCanonicalPath) {
			t.Errorf("CheckCanonicalPath(%q) = %v, want ErrNonCanonicalPath", bad, err)
		}
	}
}

func FuzzCanonicalPathMapping(f *testing.F) {
	for _, seed := range []string{"/api/generate", "/api/..;/x", "/api/%2e%2e/x", "/%61pi", "/a//b", "/a/%C0%AE", "/a/b%20c/"} {
		f.Add(seed)
	}
	m := NewPathMapper([]string{"api"}, []string{"base", "v1"})
	f.Fuzz(func(t *testing.T, p string) {
		path, raw, err := m.Map(p)
		if err != nil {
			return
		}
		// What reaches the upstream stays under its base and is canonical.
		out := raw
		if out == "" {
			out = path
		}
		if len(out) < len("/base/v1") || out[:len("/base/v1")] != "/base/v1" {
			t.Fatalf("Map(%q) = %q, outside the upstream base", p, out)
		}
		if err := CheckCanonicalPath(out); err != nil {
			t.Fatalf("Map(%q) = %q, not canonical: %v", p, out, err)
		}
	})
}
