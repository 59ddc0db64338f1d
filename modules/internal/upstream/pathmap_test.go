package upstream

import (
	"errors"
	"testing"
)

func TestPathMapping(t *testing.T) {
	t.Parallel()
	replace := NewPathMapper([]string{"api"}, []string{"base", "api", "v1"})
	for in, want := range map[string]string{
		"/api":                 "/base/api/v1",
		"/api/":                "/base/api/v1/",
		"/api/generate":        "/base/api/v1/generate",
		"/api/jobs/a%20b":      "/base/api/v1/jobs/a%20b",
		"/api/jobs/..foo":      "/base/api/v1/jobs/..foo",
		"/api/jobs/%E2%9C%93/": "/base/api/v1/jobs/%E2%9C%93/",
	} {
		path, raw, err := replace.Map(in)
		got := raw
		if got == "" {
			got = path
		}
		if err != nil || got != want {
			t.Errorf("Map(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "api", "/apis/x", "/x/api", "/%61pi/generate", "/api//jobs///x"} {
		if _, _, err := replace.Map(in); err == nil {
			t.Errorf("Map(%q): want an error", in)
		}
	}
	whole := PathMapper{}
	if path, _, err := whole.Map("/"); err != nil || path != "/" {
		t.Errorf("Map(/) without prefix = %q, %v", path, err)
	}
	for up, want := range map[string]string{"/base/api/v1/generate": "/api/generate", "/base/api/v1": "/api"} {
		if got, ok := replace.Unmap(up); !ok || got != want {
			t.Errorf("Unmap(%q) = %q, %v; want %q", up, got, ok, want)
		}
	}
	if _, ok := replace.Unmap("/other/api/v1/generate"); ok {
		t.Error("Unmap of a path outside the base succeeded")
	}
}

// TestPathMappingRefusesEscapes covers the paths that reached RunPod as
// /v2/../graphql before runpod's api mode used this mapper.
func TestPathMappingRefusesEscapes(t *testing.T) {
	t.Parallel()
	m := NewPathMapper(nil, []string{"v2"})
	for _, in := range []string{
		"/../graphql", "/pods/%2e%2e/%2e%2e/graphql", "/pods/..%2f..%2fgraphql", "/pods/..%2F..%2Fgraphql",
		"/pods/%2E%2E", "/./pods", "/pods/.", "/pods/%2e", "/pods/a%5c..%5cgraphql", "/pods/a\\b",
		"/pods/%00", "/pods/a%0ab", "/pods/%zz", "pods",
	} {
		if path, raw, err := m.Map(in); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("Map(%q) = %q %q %v, want ErrUnsafePath", in, path, raw, err)
		}
	}
	for in, want := range map[string]string{"/": "/v2", "": "/v2", "/pods": "/v2/pods", "/pods/abc/logs": "/v2/pods/abc/logs"} {
		if path, raw, err := m.Map(in); err != nil || path != want || raw != "" {
			t.Errorf("Map(%q) = %q %q %v, want %q", in, path, raw, err, want)
		}
	}
	if _, _, err := NewPathMapper([]string{"api"}, nil).Map("/other"); !errors.Is(err, ErrPrefixMismatch) {
		t.Errorf("prefix mismatch: %v", err)
	}
}

func TestNewPathMapperCopiesItsInput(t *testing.T) {
	t.Parallel()
	prefix, base := []string{"api"}, []string{"", "v1", ""}
	m := NewPathMapper(prefix, base)
	prefix[0], base[1] = "x", "y"
	if path, _, err := m.Map("/api/a"); err != nil || path != "/v1/a" {
		t.Fatalf("Map = %q, %v", path, err)
	}
}

func TestSplitPath(t *testing.T) {
	t.Parallel()
	got, err := SplitPath("/a/b%20c/")
	if err != nil || len(got) != 3 || got[0] != "a" || got[1] != "b%20c" || got[2] != "" {
		t.Fatalf("SplitPath = %q, %v", got, err)
	}
	if _, err := SplitPath("/a/../b"); !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("dot segment: %v", err)
	}
}

func BenchmarkPathMap(b *testing.B) {
	m := NewPathMapper([]string{"api"}, []string{"api", "v1"})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := m.Map("/api/jobs/0b7c1f52-8a4e-4c1b-9d0e-3f6a2b5c7d91"); err != nil {
			b.Fatal(err)
		}
	}
}
